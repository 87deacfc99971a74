using Ferry.Disks;
using Ferry.Receiver.Targets;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

public sealed class ImageFileTargetTests
{
    private const int MiB = 1 << 20;

    [Fact]
    public void AnAlignedWriteGoesPastTheCache_AnUnalignedOneThroughIt_AndTheImageHoldsEveryWriteInTheOrderMade()
    {
        using var dir = new TempDir();
        var path = dir["vda.raw"];
        var expected = new byte[16 * MiB];
        var random = new Random(3);
        using var chunk = AlignedBuffer.Rent(MiB);
        using (var target = ImageFileTarget.Create(path, expected.Length))
        {
            Write(target, 4 * MiB, chunk.Span[..MiB]);
            Assert.Equal(0, PageCache.CachedPages(path + ".partial", 4 * MiB, MiB));

            // A small write lands in a page the direct write wrote (through the cache), then a direct write covers that page
            // again: the last write wins, whichever way each went.
            Write(target, (4 * MiB) + 100, new byte[1000]);
            Assert.True(PageCache.CachedPages(path + ".partial", 4 * MiB, MiB) > 0, "the unaligned write was expected to go through the cache");
            Write(target, 4 * MiB, chunk.Span[..4096]);
            Write(target, (9 * MiB) + 7, new byte[3 * 4096]);
            target.Publish();
        }
        Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(expected), "the image differs from the writes made");

        void Write(ImageFileTarget target, long offset, Span<byte> data)
        {
            random.NextBytes(data);
            target.Write(offset, data);
            data.CopyTo(expected.AsSpan((int)offset));
        }
    }
}
