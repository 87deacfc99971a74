using System.Text;

namespace Ferry.Transfer.Framing;

/// <summary>
/// Writes frames to a stream. Writes are serialised so that several tasks (a sender and the
/// task answering a Nack) can share one connection without interleaving frames. With
/// <paramref name="bufferBytes"/>, small frames (file entries, acknowledgements) are gathered and
/// leave together on <see cref="FlushAsync"/> or when the buffer fills: one system call and one
/// packet for many frames.
/// </summary>
public sealed class FrameWriter(Stream stream, int bufferBytes = 0) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[]? _buffer = bufferBytes > 0 ? new byte[bufferBytes] : null;
    private int _used;

    /// <summary>Whether frames are waiting in the buffer for <see cref="FlushAsync"/>.</summary>
    public bool HasPending => Volatile.Read(ref _used) > 0;

    /// <summary>Bytes of frames waiting in the buffer.</summary>
    public int PendingBytes => Volatile.Read(ref _used);

    /// <summary>
    /// Writes a frame whose payload already sits in <paramref name="frame"/> after
    /// <see cref="FrameHeader.Size"/> reserved bytes, so header and payload leave in one write.
    /// </summary>
    public async ValueTask WriteAsync(FrameHeader header, Memory<byte> frame, CancellationToken cancellationToken)
    {
        header.Write(frame.Span);
        var bytes = frame[..(FrameHeader.Size + (int)header.PayloadLength)];
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_buffer is null)
            {
                await stream.WriteAsync(bytes, cancellationToken);
                return;
            }
            if (bytes.Length > _buffer.Length - _used)
            {
                await WriteBufferAsync(cancellationToken);
            }
            if (bytes.Length >= _buffer.Length)
            {
                await stream.WriteAsync(bytes, cancellationToken);
                return;
            }
            bytes.CopyTo(_buffer.AsMemory(_used));
            Volatile.Write(ref _used, _used + bytes.Length);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes a frame with a small payload (control frames).</summary>
    public ValueTask WriteControlAsync(FrameHeader header, ReadOnlySpan<byte> payload, CancellationToken cancellationToken)
    {
        var buffer = new byte[FrameHeader.Size + payload.Length];
        payload.CopyTo(buffer.AsSpan(FrameHeader.Size));
        return WriteAsync(header with { PayloadLength = (uint)payload.Length }, buffer.AsMemory(), cancellationToken);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await WriteBufferAsync(cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask WriteBufferAsync(CancellationToken cancellationToken)
    {
        if (_buffer is not null && _used > 0)
        {
            await stream.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken);
            Volatile.Write(ref _used, 0);
        }
    }

    /// <summary>An Error frame's payload: the stable code, a newline, and the message.</summary>
    public static byte[] ErrorPayload(string code, string message)
    {
        var text = code + "\n" + message;
        var bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Length <= FrameHeader.MaxControlPayload ? bytes : bytes[..FrameHeader.MaxControlPayload];
    }

    /// <summary>Splits an Error frame's payload into code and message.</summary>
    public static (string Code, string Message) ParseError(ReadOnlySpan<byte> payload)
    {
        var text = Encoding.UTF8.GetString(payload);
        var nl = text.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? (text, string.Empty) : (text[..nl], text[(nl + 1)..]);
    }

    public void Dispose() => _gate.Dispose();
}
