using Ferry.Disks.Interop;

namespace Ferry.Snapshot;

/// <summary>
/// A read-only snapshot of a mounted btrfs subvolume (<c>btrfs subvolume snapshot -r</c>), read
/// through the filesystem by file replication in place of the live tree, then deleted. Its path is
/// recorded (in <c>STATE/btrfs-snapshots</c>, mode 0600) before it is created, so that a run that
/// died before deleting it has the next run delete it. Nested subvolumes are not in a snapshot: they
/// appear as empty directories in it.
/// </summary>
public sealed class BtrfsSnapshot : ISnapshotView
{
    private readonly SnapshotRecord _record;

    private BtrfsSnapshot(string mountPoint, string path, SnapshotRecord record)
    {
        MountPoint = mountPoint;
        Path = path;
        _record = record;
    }

    private static SnapshotRecord Record(string stateDirectory) => new(stateDirectory, "btrfs-snapshots");

    public string MountPoint { get; }

    /// <summary>Where the snapshot's tree is: a directory directly beneath the mount point.</summary>
    public string Path { get; }

    string ISnapshotView.SourcePath => MountPoint;

    string ISnapshotView.ViewPath => Path;

    public static async Task<BtrfsSnapshot> CreateAsync(string mountPoint, string stateDirectory, CancellationToken ct)
    {
        var path = System.IO.Path.Combine(mountPoint, $".ferry-snapshot-{Environment.ProcessId}-{DateTime.UtcNow:yyyyMMddHHmmss}");
        var record = Record(stateDirectory);
        await record.AddAsync(path);
        var result = await RunAsync(["subvolume", "snapshot", "-r", mountPoint, path], ct);
        if (result.ExitCode != 0)
        {
            await record.RemoveAsync([path]);
            throw new SnapshotException($"btrfs could not snapshot {mountPoint}: {result.Stderr.Trim()}",
                "Check that the mount point is a btrfs subvolume with room for a snapshot; or copy it with --no-freeze.");
        }
        return new BtrfsSnapshot(mountPoint, path, record);
    }

    public async Task DeleteAsync(CancellationToken ct)
    {
        var result = await RunAsync(["subvolume", "delete", Path], ct);
        if (result.ExitCode == 0 || !Directory.Exists(Path))
        {
            await _record.RemoveAsync([Path]);
        }
    }

    /// <summary>Deletes the snapshots that an earlier run recorded and did not delete; returns them.</summary>
    public static async Task<List<string>> CleanUpAsync(string stateDirectory, CancellationToken ct)
    {
        var record = Record(stateDirectory);
        var left = record.Read();
        var deleted = new List<string>();
        foreach (var path in left)
        {
            if (!Directory.Exists(path) || (await RunAsync(["subvolume", "delete", path], ct)).ExitCode == 0)
            {
                deleted.Add(path);
            }
        }
        await record.RemoveAsync(deleted);
        return deleted;
    }

    /// <summary>The btrfs tool (a missing one answers exit 127, so that snapshotting fails with a SnapshotException saying so).</summary>
    private static Task<ChildResult> RunAsync(string[] args, CancellationToken ct) => new SystemTools().RunAsync("btrfs", args, ct);
}
