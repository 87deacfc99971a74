using System.Buffers;
using System.IO.Hashing;
using Ferry.Transfer;
using Ferry.Transfer.Framing;

namespace Ferry.Receiver.Channels;

/// <summary>Decodes a payload frame (raw or LZ4) and checks it against its checksum before anything uses it.</summary>
internal static class PayloadCodec
{
    /// <summary>False when the payload is damaged; otherwise <paramref name="data"/> is the frame's uncompressed bytes.</summary>
    /// <param name="rented">A pooled buffer holding the decoded bytes, for <see cref="Return"/>; null for raw frames.</param>
    public static bool TryDecode(Frame frame, out byte[]? rented, out ReadOnlySpan<byte> data)
    {
        var h = frame.Header;
        rented = null;
        if ((h.Flags & FrameFlags.Lz4) == 0)
        {
            data = frame.Payload;
            return h.PayloadLength == h.Length && XxHash3.HashToUInt64(data) == h.Checksum;
        }
        rented = ArrayPool<byte>.Shared.Rent((int)h.Length);
        var decoded = rented.AsSpan(0, (int)h.Length);
        data = decoded;
        return Lz4Codec.TryDecode(frame.Payload, decoded) && XxHash3.HashToUInt64(decoded) == h.Checksum;
    }

    public static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
