using Ferry.Disks;
using Ferry.Transfer.Protocol;

namespace Ferry.Agent.Migration;

/// <summary>A block-mode partition of a file replication's layout: the source partition and its used ranges.</summary>
public sealed record BlockPartition(LayoutDisk Disk, LayoutPartition Partition, BlockDevice Device, IReadOnlyList<ByteRange> Used);
