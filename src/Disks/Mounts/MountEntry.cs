namespace Ferry.Disks.Mounts;

/// <summary>One line of /proc/self/mountinfo (proc(5)).</summary>
public sealed record MountEntry(int Major, int Minor, string MountPoint, string FsType, string Source, bool ReadOnly);
