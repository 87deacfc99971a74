namespace Ferry.Disks;

/// <summary>Random-access reads from a disk, a partition of it, or (in tests) recorded bytes.</summary>
public interface IByteReader
{
    long Length { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>, or throws <see cref="DiskException"/>.</summary>
    void ReadExactly(Span<byte> buffer, long offset);
}
