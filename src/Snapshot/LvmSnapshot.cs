using System.Globalization;
using System.Text.Json;

namespace Ferry.Snapshot;

/// <summary>
/// A copy-on-write snapshot of an LVM logical volume (<c>lvcreate --snapshot</c>), sized from the
/// volume group's free extents (a fifth of the volume, at most what is free, at least one extent),
/// mounted read-only for file replication to read, then unmounted and removed. Its name is recorded
/// (<c>STATE/lvm-snapshots</c>) before it is created, so that the next run removes what a dead run
/// left (a full COW snapshot stops working, and every one slows its origin's writes).
/// </summary>
public sealed class LvmSnapshot : ISnapshotView
{
    private readonly ISystemTools _tools;
    private readonly SnapshotRecord _record;

    private LvmSnapshot(ISystemTools tools, SnapshotRecord record, string group, string name, long sizeBytes, string sourcePath)
    {
        _tools = tools;
        SourcePath = sourcePath;
        _record = record;
        Group = group;
        Name = name;
        SizeBytes = sizeBytes;
    }

    public string Group { get; }

    public string Name { get; }

    public long SizeBytes { get; }

    /// <summary>The snapshot's device.</summary>
    public string Device => $"/dev/{Group}/{Name}";

    /// <summary>Where it is mounted (read-only), once <see cref="MountAsync"/> ran.</summary>
    public string? MountPoint { get; private set; }

    /// <summary>Where the origin volume's filesystem is mounted.</summary>
    public string SourcePath { get; }

    string ISnapshotView.ViewPath => MountPoint ?? throw new InvalidOperationException("the snapshot is not mounted");

    private static SnapshotRecord Record(string stateDirectory) => new(stateDirectory, "lvm-snapshots");

    /// <summary>The logical volume whose device is <paramref name="device"/> (/dev/VG/LV or /dev/mapper/VG-LV); null when it is not one.</summary>
    public static async Task<LogicalVolume?> FindAsync(ISystemTools tools, string device, CancellationToken ct)
    {
        var result = await tools.RunAsync("lvs", ["--reportformat", "json", "--units", "b", "--nosuffix",
            "-o", "lv_name,vg_name,lv_path,lv_dm_path,lv_size,vg_free,vg_extent_size"], ct);
        if (result.ExitCode != 0)
        {
            return null;
        }
        using var report = JsonDocument.Parse(result.Stdout);
        foreach (var lv in report.RootElement.GetProperty("report").EnumerateArray().SelectMany(r => r.GetProperty("lv").EnumerateArray()))
        {
            string Text(string name) => lv.GetProperty(name).GetString() ?? "";
            if (Text("lv_path") == device || Text("lv_dm_path") == device)
            {
                return new LogicalVolume(Text("lv_name"), Text("vg_name"), Text("lv_path"), Text("lv_dm_path"),
                    long.Parse(Text("lv_size"), CultureInfo.InvariantCulture), long.Parse(Text("vg_free"), CultureInfo.InvariantCulture),
                    long.Parse(Text("vg_extent_size"), CultureInfo.InvariantCulture));
            }
        }
        return null;
    }

    /// <param name="sourcePath">Where <paramref name="lv"/>'s filesystem is mounted.</param>
    public static async Task<LvmSnapshot> CreateAsync(ISystemTools tools, LogicalVolume lv, string sourcePath, string stateDirectory, CancellationToken ct)
    {
        var extents = Math.Min(lv.GroupFreeBytes / lv.ExtentBytes, Math.Max(1, lv.SizeBytes / 5 / lv.ExtentBytes));
        if (extents < 1)
        {
            throw new SnapshotException($"volume group {lv.Group} has no free extents for a snapshot of {lv.Name} (one extent is {lv.ExtentBytes >> 20} MiB)",
                "Free some space in the volume group (vgs shows VFree); the agent then snapshots the volume, or it copies it with a bounded freeze.");
        }
        var name = "ferry-snap-" + lv.Name;
        var record = Record(stateDirectory);
        await record.AddAsync($"{lv.Group}/{name}");
        var size = extents * lv.ExtentBytes;
        var result = await tools.RunAsync("lvcreate", ["--snapshot", "--name", name, "--size", size.ToString(CultureInfo.InvariantCulture) + "b",
            $"{lv.Group}/{lv.Name}"], ct);
        if (result.ExitCode != 0)
        {
            await record.RemoveAsync([$"{lv.Group}/{name}"]);
            throw new SnapshotException($"lvcreate could not snapshot {lv.Group}/{lv.Name}: {result.Stderr.Trim()}");
        }
        return new LvmSnapshot(tools, record, lv.Group, name, size, sourcePath);
    }

    /// <summary>Mounts the snapshot read-only at <paramref name="at"/> (XFS with nouuid: its origin, with the same UUID, is mounted).</summary>
    public async Task MountAsync(string at, string fsType, CancellationToken ct)
    {
        Directory.CreateDirectory(at);
        var result = await _tools.RunAsync("mount", ["-o", fsType == "xfs" ? "ro,nouuid" : "ro", Device, at], ct);
        if (result.ExitCode != 0)
        {
            throw new SnapshotException($"the snapshot {Device} cannot be mounted: {result.Stderr.Trim()}");
        }
        MountPoint = at;
    }

    /// <summary>Unmounts and removes the snapshot; the record goes once it is gone.</summary>
    public async Task DeleteAsync(CancellationToken ct)
    {
        if (MountPoint is { } at)
        {
            await _tools.RunAsync("umount", [at], ct);
            MountPoint = null;
        }
        if ((await _tools.RunAsync("lvremove", ["-f", $"{Group}/{Name}"], ct)).ExitCode == 0)
        {
            await _record.RemoveAsync([$"{Group}/{Name}"]);
        }
    }

    /// <summary>Removes the snapshots an earlier run recorded and did not remove (unmounting them first); returns them.</summary>
    public static async Task<List<string>> CleanUpAsync(ISystemTools tools, string stateDirectory, CancellationToken ct)
    {
        var record = Record(stateDirectory);
        var removed = new List<string>();
        foreach (var name in record.Read())
        {
            var device = "/dev/" + name;
            await tools.RunAsync("umount", [device], ct);
            var exists = (await tools.RunAsync("lvs", [name], ct)).ExitCode == 0;
            if (!exists || (await tools.RunAsync("lvremove", ["-f", name], ct)).ExitCode == 0)
            {
                removed.Add(name);
            }
        }
        await record.RemoveAsync(removed);
        return removed;
    }
}
