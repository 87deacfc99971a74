using Ferry.Disks;

namespace Ferry.Transfer.Framing;

/// <summary>
/// A frame read from the wire. Its payload lives in a pooled buffer: dispose it once handled. The buffer is aligned, so
/// that a disk's raw data can be written past the page cache straight from where it was received.
/// </summary>
public sealed class Frame : IDisposable
{
    private AlignedBuffer? _buffer;

    internal Frame(FrameHeader header, AlignedBuffer? buffer)
    {
        Header = header;
        _buffer = buffer;
    }

    public FrameHeader Header { get; }

    public ReadOnlySpan<byte> Payload => _buffer is null ? [] : _buffer.Span[..(int)Header.PayloadLength];

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
