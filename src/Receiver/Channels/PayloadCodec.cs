using System.IO.Hashing;
using Ferry.Disks;
using Ferry.Transfer;
using Ferry.Transfer.Framing;

namespace Ferry.Receiver.Channels;

/// <summary>Decodes a payload frame (raw or LZ4) and checks it against its checksum before anything uses it.</summary>
internal static class PayloadCodec
{
    /// <summary>False when the payload is damaged; otherwise <paramref name="data"/> is the frame's uncompressed bytes.</summary>
    /// <param name="rented">
    /// A pooled buffer holding the decoded bytes, for <see cref="Return"/>; null for a raw frame, whose payload is the data.
    /// Either is aligned, for a target that writes past its page cache.
    /// </param>
    public static bool TryDecode(Frame frame, out AlignedBuffer? rented, out ReadOnlySpan<byte> data)
    {
        var h = frame.Header;
        rented = null;
        if ((h.Flags & FrameFlags.Lz4) == 0)
        {
            data = frame.Payload;
            return h.PayloadLength == h.Length && XxHash3.HashToUInt64(data) == h.Checksum;
        }
        rented = AlignedBuffer.Rent((int)h.Length);
        var decoded = rented.Span[..(int)h.Length];
        data = decoded;
        return Lz4Codec.TryDecode(frame.Payload, decoded) && XxHash3.HashToUInt64(decoded) == h.Checksum;
    }

    public static void Return(AlignedBuffer? rented) => rented?.Dispose();
}
