using Ferry.Disks.Mounts;

namespace Ferry.Snapshot;

/// <summary>
/// Chooses how to read a disk or partition given how it is mounted: directly when nothing writes to
/// it; a filesystem mounted read-write by a convergent copy whose last pass runs with it frozen (the
/// default), or live when freezing is turned off (the copy may then be inconsistent).
/// </summary>
public static class ViewSelector
{
    public const string Direct = "direct";
    public const string Freeze = "freeze";
    public const string Live = "live";

    /// <param name="freezeBound">The freeze bound, or null when freezing is turned off.</param>
    public static ViewChoice Choose(string device, IReadOnlyCollection<MountEntry> mounts, TimeSpan? freezeBound)
    {
        var writable = mounts.Where(m => !m.ReadOnly).Select(m => m.MountPoint).ToList();
        if (writable.Count > 0 && freezeBound is { } bound)
        {
            return new ViewChoice(Freeze, true,
                $"{device} is mounted read-write at {string.Join(", ", writable)}: it is copied live, then again until little changes, " +
                $"then once more frozen (FIFREEZE) for at most {bound.TotalSeconds:0.#} s, so that the copy is consistent");
        }
        if (writable.Count > 0)
        {
            return new ViewChoice(Live, false,
                $"{device} is mounted read-write at {string.Join(", ", writable)}: it is copied live (--no-freeze) and the copy may be inconsistent; " +
                "stop the services that write to it, or remount it read-only, for a consistent copy");
        }
        return mounts.Count > 0
            ? new ViewChoice(Direct, true, $"{device} is mounted read-only: nothing writes to it")
            : new ViewChoice(Direct, true, $"{device} is not mounted: nothing writes to it");
    }
}
