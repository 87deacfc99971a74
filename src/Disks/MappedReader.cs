namespace Ferry.Disks;

/// <summary>
/// Source regions placed at other offsets of a larger address space: a block-mode partition of a
/// new layout is read from the source partition but addressed where it lies on the target disk.
/// </summary>
public sealed class MappedReader(long length, IReadOnlyList<(long Start, IByteReader Reader)> pieces) : IByteReader
{
    public long Length { get; } = length;

    public void ReadExactly(Span<byte> buffer, long offset)
    {
        foreach (var (start, reader) in pieces)
        {
            if (offset >= start && offset - start + buffer.Length <= reader.Length)
            {
                reader.ReadExactly(buffer, offset - start);
                return;
            }
        }
        throw new DiskException(DiskError.Corrupt, "(mapped)", $"offset {offset} (+{buffer.Length}) lies in no mapped region", offset);
    }
}
