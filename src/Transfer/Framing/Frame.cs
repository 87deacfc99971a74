using System.Buffers;

namespace Ferry.Transfer.Framing;

/// <summary>A frame read from the wire. Its payload lives in a pooled buffer: dispose it once handled.</summary>
public sealed class Frame : IDisposable
{
    private byte[]? _buffer;

    internal Frame(FrameHeader header, byte[]? buffer)
    {
        Header = header;
        _buffer = buffer;
    }

    public FrameHeader Header { get; }

    public ReadOnlySpan<byte> Payload => _buffer is null ? [] : _buffer.AsSpan(0, (int)Header.PayloadLength);

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
