namespace Ferry.Agent.Inventory;

/// <param name="UsedBytes">From statvfs when mounted, else from the superblock's free count.</param>
public sealed record FilesystemEntry(
    string Type,
    string? Uuid,
    string? Label,
    long SizeBytes,
    long? UsedBytes,
    IReadOnlyList<string> MountPoints,
    bool ReadOnly);
