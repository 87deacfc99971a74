using System.IO.Hashing;
using System.Text;
using Ferry.Transfer;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Framing;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

public sealed class BlockEncoderTests
{
    [Fact]
    public void Encode_AllZeroChunk_BecomesPayloadlessZeroFrame()
    {
        using var frame = BlockEncoder.Encode(1, 4096, new byte[65536], 7, out _);

        Assert.Equal(FrameType.Zero, frame.Header.Type);
        Assert.Equal(65536U, frame.Header.Length);
        Assert.Equal(0U, frame.Header.PayloadLength);
    }

    [Fact]
    public void Encode_TextChunk_IsCompressedAndDecodesToTheSameBytesAndChecksum()
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("ferry moves servers; ", 5000)));

        using var frame = BlockEncoder.Encode(0, 0, data, 7, out var checksum);

        Assert.Equal(FrameFlags.Lz4, frame.Header.Flags);
        Assert.True(frame.Header.PayloadLength < data.Length / 4);
        var decoded = new byte[data.Length];
        Assert.True(Lz4Codec.TryDecode(frame.Buffer.Span.Slice(FrameHeader.Size, (int)frame.Header.PayloadLength), decoded));
        Assert.Equal(data, decoded);
        Assert.Equal(XxHash3.HashToUInt64(data), checksum);
        Assert.Equal(checksum, frame.Header.Checksum);
    }

    [Fact]
    public void Encode_RandomChunk_GoesRaw()
    {
        var data = new byte[1 << 20];
        new Random(5).NextBytes(data);

        using var frame = BlockEncoder.Encode(0, 0, data, 7, out _);

        Assert.Equal(FrameFlags.None, frame.Header.Flags);
        Assert.Equal((uint)data.Length, frame.Header.PayloadLength);
    }

    [Fact]
    public void Encode_LevelZero_SendsRawEvenWhenCompressible()
    {
        var data = Encoding.UTF8.GetBytes(new string('a', 10000));

        using var frame = BlockEncoder.Encode(0, 0, data, 0, out _);

        Assert.Equal(FrameFlags.None, frame.Header.Flags);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(10)]
    public void Encode_HighLevels_CompressAtLeastAsWellAsDefault(int level)
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 20000).Select(i => $"{i % 97} ")));

        using var fast = BlockEncoder.Encode(0, 0, data, 7, out _);
        using var slow = BlockEncoder.Encode(0, 0, data, level, out _);

        Assert.True(slow.Header.PayloadLength <= fast.Header.PayloadLength);
    }

    [Fact]
    public void TryDecode_DamagedBlock_ReturnsFalse()
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("abcdefgh", 4096)));
        using var frame = BlockEncoder.Encode(0, 0, data, 7, out _);
        var payload = frame.Buffer.Span.Slice(FrameHeader.Size, (int)frame.Header.PayloadLength).ToArray();
        payload[0] = 0xFF;
        payload[^1] ^= 0xFF;

        Assert.False(Lz4Codec.TryDecode(payload, new byte[data.Length]));
    }
}
