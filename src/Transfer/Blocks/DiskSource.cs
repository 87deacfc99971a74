using Ferry.Disks;

namespace Ferry.Transfer.Blocks;

/// <summary>One source disk to send: how to read it and which of its ranges carry data.</summary>
/// <param name="Index">The disk's number in the session; data frames name it.</param>
/// <param name="Ranges">Sorted, disjoint ranges to send; everything else is left as zeros on the target.</param>
public sealed record DiskSource(uint Index, string Name, IByteReader Reader, IReadOnlyList<ByteRange> Ranges)
{
    public long SizeBytes => Reader.Length;

    public long PlannedBytes => RangeList.TotalLength(Ranges);
}
