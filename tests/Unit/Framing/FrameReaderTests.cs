using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;
using Xunit;

namespace Ferry.Tests.Unit.Framing;

public sealed class FrameReaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ReadAsync_WholeFrame_ReturnsHeaderAndPayload()
    {
        var payload = "hello, receiver"u8.ToArray();
        var stream = new MemoryStream(Encode(new FrameHeader(FrameType.Error, FrameFlags.None, 0, 0, 0, 7, 0, (uint)payload.Length), payload));

        using var frame = await new FrameReader(stream).ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);

        Assert.NotNull(frame);
        Assert.Equal(7UL, frame.Header.Sequence);
        Assert.Equal(payload, frame.Payload.ToArray());
    }

    [Fact]
    public async Task ReadAsync_CleanEndBetweenFrames_ReturnsNull()
    {
        var frame = await new FrameReader(new MemoryStream()).ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);

        Assert.Null(frame);
    }

    [Fact]
    public async Task ReadAsync_StreamEndsInsideHeader_ThrowsProtocolError()
    {
        var bytes = Encode(new FrameHeader(FrameType.Flush, FrameFlags.None, 0, 0, 0, 1, 0, 0), []);

        await Assert.ThrowsAsync<ProtocolException>(() => new FrameReader(new MemoryStream(bytes[..20])).ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadAsync_StreamEndsInsidePayload_ThrowsProtocolError()
    {
        var bytes = Encode(new FrameHeader(FrameType.Data, FrameFlags.None, 0, 100, 0, 1, 0, 100), new byte[100]);

        var e = await Assert.ThrowsAsync<ProtocolException>(() =>
            new FrameReader(new MemoryStream(bytes[..^10])).ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Contains("90 of 100", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Encode(FrameHeader header, byte[] payload)
    {
        var bytes = new byte[FrameHeader.Size + payload.Length];
        header.Write(bytes);
        payload.CopyTo(bytes, FrameHeader.Size);
        return bytes;
    }
}
