namespace Ferry.Agent.Inventory;

/// <param name="PartitionTable">"gpt", "dos" (sfdisk's names) or "none".</param>
/// <param name="BootCode">What the first sector's boot code is: "grub", "other" or "none".</param>
/// <param name="Filesystem">A filesystem on the whole disk, when there is no partition table.</param>
public sealed record DiskEntry(
    string Name,
    string Path,
    long SizeBytes,
    int LogicalSectorSize,
    string? Model,
    bool Rotational,
    string PartitionTable,
    string? DiskId,
    string BootCode,
    IReadOnlyList<string> Bootloaders,
    FilesystemEntry? Filesystem,
    IReadOnlyList<PartitionEntry> Partitions);
