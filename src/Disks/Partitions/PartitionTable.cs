namespace Ferry.Disks.Partitions;

/// <summary>
/// A disk's partition table, plus the areas outside partitions that a bootable copy needs whole:
/// the MBR and the gap before the first partition (boot code), EBRs, and the backup GPT.
/// </summary>
public sealed record PartitionTable(
    PartitionScheme Scheme,
    string? DiskId,
    int SectorSize,
    IReadOnlyList<Partition> Partitions,
    IReadOnlyList<ByteRange> BootAreas);
