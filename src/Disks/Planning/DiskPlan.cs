using Ferry.Disks.Partitions;

namespace Ferry.Disks.Planning;

/// <summary>What a block copy of one disk reads: its boot areas and, per partition, the used ranges.</summary>
/// <param name="Ranges">Disk-absolute, sorted and disjoint.</param>
public sealed record DiskPlan(PartitionTable Table, IReadOnlyList<PartitionPlan> Partitions, IReadOnlyList<ByteRange> Ranges)
{
    public long PlannedBytes => RangeList.TotalLength(Ranges);
}
