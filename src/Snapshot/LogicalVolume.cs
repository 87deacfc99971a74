namespace Ferry.Snapshot;

/// <summary>An LVM logical volume as <c>lvs</c> reports it, with what its volume group has free for a snapshot.</summary>
public sealed record LogicalVolume(string Name, string Group, string Path, string DmPath, long SizeBytes, long GroupFreeBytes, long ExtentBytes);
