namespace Ferry.Agent.Inventory;

/// <param name="Type">GPT type GUID (upper case) or MBR type as hex ("83").</param>
public sealed record PartitionEntry(
    int Number,
    string? Path,
    long StartBytes,
    long SizeBytes,
    string Type,
    string? Uuid,
    string? Name,
    bool Bootable,
    FilesystemEntry? Filesystem);
