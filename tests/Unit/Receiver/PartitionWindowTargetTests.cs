using Ferry.Receiver.Targets;
using Ferry.Transfer.Errors;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

public sealed class PartitionWindowTargetTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ferry-window-{Guid.NewGuid():N}.raw");

    [Fact]
    public void Write_InsideABlockPartition_LandsInPlace_AndOutsideIsRefusedWithoutWriting()
    {
        File.WriteAllBytes(_path, new byte[64 << 10]);
        using (var target = new PartitionWindowTarget(ImageFileTarget.OpenInPlace(_path), [(16 << 10, 16 << 10)]))
        {
            target.Write(16 << 10, [1, 2, 3]);
            Assert.Throws<ProtocolException>(() => target.Write(0, [9]));
            Assert.Throws<ProtocolException>(() => target.Write((32 << 10) - 1, [9, 9]));
            Assert.Throws<ProtocolException>(() => target.WriteZeros(8 << 10, 16 << 10));
            target.Publish();
        }
        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(64 << 10, bytes.Length);
        Assert.Equal([1, 2, 3], bytes[(16 << 10)..((16 << 10) + 3)]);
        Assert.Equal(3, bytes.Count(b => b != 0));
    }

    public void Dispose() => File.Delete(_path);
}
