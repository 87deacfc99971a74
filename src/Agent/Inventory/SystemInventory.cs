namespace Ferry.Agent.Inventory;

/// <summary>Everything a migration needs to know about the source, as registered and as printed by <c>agent inventory</c>.</summary>
public sealed record SystemInventory(
    string Hostname,
    string OsName,
    string? OsId,
    string? OsVersion,
    string Kernel,
    int Cpus,
    string? CpuModel,
    long MemoryBytes,
    string BootMode,
    IReadOnlyList<DiskEntry> Disks);
