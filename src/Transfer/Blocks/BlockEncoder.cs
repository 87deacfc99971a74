using System.Buffers;
using System.IO.Hashing;
using Ferry.Transfer.Framing;

namespace Ferry.Transfer.Blocks;

/// <summary>
/// Turns a chunk of source bytes into a frame in one pass over them: an all-zero chunk becomes a
/// payload-less Zero frame; otherwise the XXH3 checksum is taken and the bytes are LZ4-compressed,
/// going raw when compression does not pay. File data and deltas use the same encoding.
/// </summary>
public static class BlockEncoder
{
    public static EncodedFrame Encode(uint disk, long offset, ReadOnlySpan<byte> data, int level, out ulong checksum)
    {
        checksum = XxHash3.HashToUInt64(data);
        if (data.IndexOfAnyExcept((byte)0) < 0)
        {
            return new EncodedFrame(new FrameHeader(FrameType.Zero, FrameFlags.None, disk, (uint)data.Length, (ulong)offset, 0, checksum, 0), new byte[FrameHeader.Size], pooled: false);
        }
        return EncodePayload(FrameType.Data, disk, offset, 0, data, level, checksum);
    }

    /// <summary>A payload frame (Data, FileData, Delta) of <paramref name="data"/>, compressed when that pays.</summary>
    public static EncodedFrame EncodePayload(FrameType type, uint disk, long offset, ulong sequence, ReadOnlySpan<byte> data, int level, ulong checksum)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.Size + Lz4Codec.MaxEncodedLength(data.Length));
        var payload = buffer.AsSpan(FrameHeader.Size);
        var encoded = Lz4Codec.TryEncode(data, payload, level);
        FrameFlags flags;
        if (encoded > 0)
        {
            flags = FrameFlags.Lz4;
        }
        else
        {
            data.CopyTo(payload);
            encoded = data.Length;
            flags = FrameFlags.None;
        }
        var header = new FrameHeader(type, flags, disk, (uint)data.Length, (ulong)offset, sequence, checksum, (uint)encoded);
        return new EncodedFrame(header, buffer, pooled: true);
    }
}
