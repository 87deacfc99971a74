namespace Ferry.Disks;

/// <summary>Reads from bytes in memory: recorded sectors in tests, or a small image read whole.</summary>
public sealed class MemoryByteReader(ReadOnlyMemory<byte> bytes) : IByteReader
{
    public long Length => bytes.Length;

    public void ReadExactly(Span<byte> buffer, long offset)
    {
        if (offset < 0 || offset + buffer.Length > bytes.Length)
        {
            throw new DiskException(DiskError.Corrupt, "memory", $"read outside the image (offset {offset}, length {buffer.Length}).", offset);
        }
        bytes.Span.Slice((int)offset, buffer.Length).CopyTo(buffer);
    }
}
