using Ferry.Disks.Filesystems;
using Ferry.Disks.Partitions;

namespace Ferry.Disks.Planning;

/// <summary>How one partition is copied, and why.</summary>
/// <param name="Method">"allocation-map" (used blocks only), "whole" (boot code), "header" (swap), "nonzero" (read all, skip zeros), "container" (extended partition).</param>
public sealed record PartitionPlan(Partition Partition, FilesystemInfo? Filesystem, string Method, long PlannedBytes);
