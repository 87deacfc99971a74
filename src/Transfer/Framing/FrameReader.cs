using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Framing;

/// <summary>
/// Reads frames from a stream. The header is validated before its payload length is believed,
/// so a hostile or damaged peer can make the reader allocate at most one maximal frame.
/// With <paramref name="bufferBytes"/>, small frames are read many at a time, and
/// <see cref="BufferedBytes"/> tells the caller whether the next read may wait for the peer.
/// </summary>
public sealed class FrameReader(Stream stream, int bufferBytes = 0)
{
    private readonly byte[] _header = new byte[FrameHeader.Size];
    private readonly byte[]? _buffer = bufferBytes > 0 ? new byte[bufferBytes] : null;
    private int _start;
    private int _end;

    /// <summary>Bytes already read from the stream and not yet handed out.</summary>
    public int BufferedBytes => _end - _start;

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
        var payload = Disks.AlignedBuffer.Rent((int)header.PayloadLength);
        try
        {
            var n = await ReadAtLeastAsync(payload.Memory[..(int)header.PayloadLength], cancellationToken);
            if (n < header.PayloadLength)
            {
                throw new ProtocolException($"connection closed inside a {header.Type} frame ({n} of {header.PayloadLength} payload bytes)");
            }
            return new Frame(header, payload);
        }
        catch
        {
            payload.Dispose();
            throw;
        }
    }

    private async ValueTask<int> ReadAtLeastAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_buffer is null)
        {
            return await stream.ReadAtLeastAsync(destination, destination.Length, throwOnEndOfStream: false, cancellationToken);
        }
        var copied = 0;
        while (copied < destination.Length)
        {
            if (_start == _end)
            {
                if (destination.Length - copied >= _buffer.Length)
                {
                    // A large payload goes straight into its own buffer rather than through ours.
                    return copied + await stream.ReadAtLeastAsync(destination[copied..], destination.Length - copied, throwOnEndOfStream: false, cancellationToken);
                }
                _start = 0;
                _end = await stream.ReadAsync(_buffer, cancellationToken);
                if (_end == 0)
                {
                    return copied;
                }
            }
            var take = Math.Min(_end - _start, destination.Length - copied);
            _buffer.AsMemory(_start, take).CopyTo(destination[copied..]);
            _start += take;
            copied += take;
        }
        return copied;
    }
}
