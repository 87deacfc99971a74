using System.Buffers;
using Ferry.Transfer.Framing;

namespace Ferry.Transfer.Blocks;

/// <summary>A frame ready for the wire: its header and payload in one pooled buffer.</summary>
public sealed class EncodedFrame : IDisposable
{
    private readonly bool _pooled;
    private byte[]? _buffer;

    /// <param name="pooled">Whether <paramref name="buffer"/> was rented from the shared pool and goes back to it.</param>
    public EncodedFrame(FrameHeader header, byte[] buffer, bool pooled)
    {
        Header = header;
        _buffer = buffer;
        _pooled = pooled;
    }

    public FrameHeader Header { get; }

    /// <summary>The bytes to write: header space, then the payload.</summary>
    public Memory<byte> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(EncodedFrame));

    public int WireBytes => FrameHeader.Size + (int)Header.PayloadLength;

    public void Dispose()
    {
        if (_buffer is not null && _pooled)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = null;
    }
}
