namespace Ferry.Disks.Files;

/// <summary>A file timestamp with nanoseconds, as the kernel keeps it.</summary>
public readonly record struct FileTime(long Seconds, uint Nanoseconds);
