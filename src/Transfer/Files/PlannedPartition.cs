using Ferry.Transfer.Protocol;

namespace Ferry.Transfer.Files;

/// <summary>Where one partition of a target disk goes: number, start and size in bytes.</summary>
/// <param name="Partition">The layout's partition, or null for the BIOS-boot partition the receiver adds.</param>
public sealed record PlannedPartition(int Number, long StartBytes, long SizeBytes, LayoutPartition? Partition)
{
    public bool IsBiosBoot => Partition is null;
}
