namespace Ferry.Disks;

/// <summary>What went wrong with a disk; each maps to a stable error code in the agent.</summary>
public enum DiskError
{
    NotFound,
    PermissionDenied,
    NotABlockDevice,
    ReadFailed,
    Corrupt,
}
