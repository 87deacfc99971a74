namespace Ferry.Disks;

/// <summary>A half-open byte range [Offset, Offset + Length) on a disk or partition.</summary>
public readonly record struct ByteRange(long Offset, long Length)
{
    public long End => Offset + Length;

    public ByteRange Shift(long by) => new(Offset + by, Length);

    public override string ToString() => $"[{Offset}, +{Length})";
}
