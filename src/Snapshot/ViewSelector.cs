using Ferry.Disks.Mounts;

namespace Ferry.Snapshot;

/// <summary>
/// Chooses how to read a disk or partition given how it is mounted. Until snapshot providers
/// exist (LVM, btrfs, bounded freeze), a filesystem mounted read-write is copied live and the
/// user is told that the copy may be inconsistent.
/// </summary>
public static class ViewSelector
{
    public static ViewChoice Choose(string device, IReadOnlyCollection<MountEntry> mounts)
    {
        var writable = mounts.Where(m => !m.ReadOnly).Select(m => m.MountPoint).ToList();
        if (writable.Count > 0)
        {
            return new ViewChoice("live", false,
                $"{device} is mounted read-write at {string.Join(", ", writable)}: it is copied live and the copy may be inconsistent; " +
                "stop the services that write to it, or remount it read-only, for a consistent copy");
        }
        return mounts.Count > 0
            ? new ViewChoice("direct", true, $"{device} is mounted read-only: nothing writes to it")
            : new ViewChoice("direct", true, $"{device} is not mounted: nothing writes to it");
    }
}
