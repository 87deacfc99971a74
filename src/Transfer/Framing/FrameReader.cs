using System.Buffers;
using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Framing;

/// <summary>
/// Reads frames from a stream. The header is validated before its payload length is believed,
/// so a hostile or damaged peer can make the reader allocate at most one maximal frame.
/// </summary>
public sealed class FrameReader(Stream stream)
{
    private readonly byte[] _header = new byte[FrameHeader.Size];

    /// <summary>The next frame, or null when the peer closed the stream cleanly between frames.</summary>
    /// <exception cref="ProtocolException">The stream ended inside a frame, or a header is malformed.</exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        var got = await ReadAtLeastAsync(_header, cancellationToken);
        if (got == 0)
        {
            return null;
        }
        if (got < FrameHeader.Size)
        {
            throw new ProtocolException($"connection closed inside a frame header ({got} of {FrameHeader.Size} bytes)");
        }
        var header = FrameHeader.Parse(_header);
        if (header.PayloadLength == 0)
        {
            return new Frame(header, null);
        }
        var payload = ArrayPool<byte>.Shared.Rent((int)header.PayloadLength);
        try
        {
            var n = await ReadAtLeastAsync(payload.AsMemory(0, (int)header.PayloadLength), cancellationToken);
            if (n < header.PayloadLength)
            {
                throw new ProtocolException($"connection closed inside a {header.Type} frame ({n} of {header.PayloadLength} payload bytes)");
            }
            return new Frame(header, payload);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(payload);
            throw;
        }
    }

    private async ValueTask<int> ReadAtLeastAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
}
