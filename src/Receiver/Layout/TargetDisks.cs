using System.Globalization;
using System.Text;
using Ferry.Receiver.Files;
using Ferry.Receiver.Hosting;
using Ferry.Transfer.Files;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Layout;

/// <summary>
/// The target disks of a file replication: sparse raw files in <c>SOURCE/work/</c>, partitioned
/// with sfdisk, attached as loop devices, given filesystems with mkfs (the source's UUIDs and labels
/// unless the layout asks for fresh ones) and mounted under <c>work/mnt/TREE</c>. A later session
/// with the same layout mounts the same disks again, so that the sync sends only what changed.
/// </summary>
public sealed class TargetDisks
{
    private const string LayoutFile = "layout.pb";
    private readonly List<(LayoutDisk Disk, string Raw, string? Loop)> _disks;
    private readonly Dictionary<uint, TreeTarget> _trees;
    private readonly Dictionary<uint, TreeIndex> _indexes = [];
    private readonly ILogger _log;

    private TargetDisks(string workDirectory, TargetLayout layout, List<(LayoutDisk, string, string?)> disks, Dictionary<uint, TreeTarget> trees, bool reused,
        ILogger log)
    {
        WorkDirectory = workDirectory;
        Layout = layout;
        _disks = disks;
        _trees = trees;
        Reused = reused;
        _log = log;
    }

    public string WorkDirectory { get; }

    /// <summary>The layout the disks were built from.</summary>
    public TargetLayout Layout { get; }

    /// <summary>The attached device of a partition of the layout (/dev/loopNpM).</summary>
    public string DeviceOf(LayoutPartition partition)
    {
        foreach (var (disk, _, loop) in _disks)
        {
            var planned = LayoutRules.Plan(disk, Layout.BootMode).FirstOrDefault(p => ReferenceEquals(p.Partition, partition));
            if (planned is not null && loop is not null)
            {
                return $"{loop}p{planned.Number}";
            }
        }
        throw new InvalidOperationException("the partition is not on an attached disk of this layout");
    }

    public string RawPathOf(LayoutDisk disk) => RawPath(WorkDirectory, disk);

    /// <summary>Whether the disks of an earlier session were mounted again rather than made anew.</summary>
    public bool Reused { get; }

    /// <summary>Bytes a disk's working copy already holds on the receiver (0 for one made anew).</summary>
    public long CommittedBytes(string rawPath)
    {
        if (!Reused)
        {
            return 0;
        }
        using var handle = File.OpenHandle(rawPath);
        return Disks.Files.PosixFiles.Stat(handle).Blocks * 512;
    }

    public IReadOnlyDictionary<uint, TreeTarget> Trees => _trees;

    /// <summary>Disks with block-mode partitions, as targets for Data frames that may write only inside those partitions.</summary>
    public Dictionary<uint, Targets.IDiskTarget> OpenBlockTargets(TargetLayout layout)
    {
        var targets = new Dictionary<uint, Targets.IDiskTarget>();
        foreach (var disk in layout.Disks)
        {
            var windows = LayoutRules.Plan(disk, layout.BootMode).Where(p => p.Partition is { } part && LayoutRules.IsBlock(part))
                .Select(p => (p.StartBytes, p.SizeBytes)).ToList();
            if (windows.Count > 0)
            {
                targets[disk.Index] = new Targets.PartitionWindowTarget(Targets.ImageFileTarget.OpenInPlace(RawPath(WorkDirectory, disk)), windows);
            }
        }
        return targets;
    }

    public IEnumerable<(uint Index, string Name, string RawPath)> RawDisks => _disks.Select(d => (d.Disk.Index, d.Disk.Name, d.Raw));

    public static async Task<TargetDisks> PrepareAsync(string workDirectory, TargetLayout layout, ILogger log, CancellationToken ct)
    {
        await ReleaseStaleAsync(workDirectory, ct);
        var layoutPath = Path.Combine(workDirectory, LayoutFile);
        if (File.Exists(layoutPath) && SameLayout(TargetLayout.Parser.ParseFrom(await File.ReadAllBytesAsync(layoutPath, ct)), layout)
            && layout.Disks.All(d => File.Exists(RawPath(workDirectory, d))))
        {
            var reused = new TargetDisks(workDirectory, layout, [], [], reused: true, log);
            try
            {
                // Before anything touches the disks: an index counts only if its disk is as it was sealed.
                foreach (var disk in layout.Disks)
                {
                    var identity = Targets.ImageIdentity.Of(RawPath(workDirectory, disk));
                    foreach (var part in FileTrees(disk))
                    {
                        var index = TreeIndex.Consume(IndexPath(workDirectory, part.Tree), identity);
                        reused._indexes[part.Tree] = index;
                        if (index.Known)
                        {
                            log.LogInformation("Tree {Tree}: the last sync's index of {Count} entries holds; unchanged entries are not checked on the disk", part.Tree, index.Count);
                        }
                        else
                        {
                            log.LogInformation("Tree {Tree}: no index of the last sync holds for this disk; every entry is checked on the disk", part.Tree);
                        }
                    }
                }
                await reused.AttachAsync(layout, format: false, ct);
                return reused;
            }
            catch (IOException e)
            {
                log.LogWarning("The earlier target disks in {Directory} cannot be mounted again ({Message}); making new ones", workDirectory, e.Message);
                await reused.DetachAsync(ct);
            }
        }

        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }
        // Only root may enter the working copy: its trees hold the source's files, owners and modes.
        Directory.CreateDirectory(workDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(workDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var fresh = new TargetDisks(workDirectory, layout, [], [], reused: false, log);
        try
        {
            foreach (var disk in layout.Disks)
            {
                await using (var raw = new FileStream(RawPath(workDirectory, disk), FileMode.CreateNew, FileAccess.Write))
                {
                    raw.SetLength((long)disk.SizeBytes);
                }
                await ExternalTool.RunAsync("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", RawPath(workDirectory, disk)], ct,
                    SfdiskScript(disk, layout.BootMode));
            }
            await fresh.AttachAsync(layout, format: true, ct);
            await File.WriteAllBytesAsync(layoutPath, layout.ToByteArray(), ct);
            return fresh;
        }
        catch
        {
            await fresh.DetachAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>Unmounts and detaches everything; the raw files stay.</summary>
    public async Task DetachAsync(CancellationToken ct)
    {
        foreach (var tree in _trees.Values)
        {
            tree.Dispose();
            await LoopDevice.TryRunAsync("umount", ct, tree.MountPath);
        }
        _trees.Clear();
        foreach (var (_, raw, loop) in _disks)
        {
            if (loop is not null)
            {
                await LoopDevice.TryRunAsync("losetup", ct, "-d", loop);
            }
            using var handle = File.OpenHandle(raw, FileMode.Open, FileAccess.ReadWrite);
            Disks.Interop.Posix.Fsync(handle, raw);
        }
        _disks.Clear();
    }

    /// <summary>
    /// Once the disks are detached and final: saves the index of each tree applied completely in this
    /// session, sealed with its disk's identity, so that the next sync needs not check unchanged entries.
    /// </summary>
    public void SaveIndexes()
    {
        foreach (var disk in Layout.Disks)
        {
            var raw = RawPath(WorkDirectory, disk);
            foreach (var part in FileTrees(disk))
            {
                if (_indexes.TryGetValue(part.Tree, out var index) && index.Complete)
                {
                    index.Save(IndexPath(WorkDirectory, part.Tree), Targets.ImageIdentity.Of(raw));
                }
            }
        }
    }

    /// <summary>Something other than the sync changed the trees (the boot fix-up): the next sync checks every entry against them.</summary>
    public void ForgetIndexes() => _indexes.Clear();

    /// <summary>Detaches and removes the working copy (a cancelled job leaves nothing behind).</summary>
    public async Task DiscardAsync(CancellationToken ct)
    {
        await DetachAsync(ct);
        if (Directory.Exists(WorkDirectory))
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
    }

    private async Task AttachAsync(TargetLayout layout, bool format, CancellationToken ct)
    {
        foreach (var disk in layout.Disks)
        {
            var raw = RawPath(WorkDirectory, disk);
            var planned = LayoutRules.Plan(disk, layout.BootMode);
            var loop = await LoopDevice.AttachAsync(raw, planned.Select(p => p.Number).ToList(), ct);
            _disks.Add((disk, raw, loop));
            foreach (var p in planned.Where(p => !p.IsBiosBoot && !LayoutRules.IsBlock(p.Partition!)))
            {
                var device = $"{loop}p{p.Number}";
                var part = p.Partition!;
                if (format)
                {
                    await MakeFilesystemAsync(device, part, layout.FreshUuids, ct);
                }
                if (part.Filesystem == "swap")
                {
                    continue;
                }
                var mount = Path.Combine(WorkDirectory, "mnt", part.Tree.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(mount);
                // nosuid, nodev: a setuid program or a device node the source sent (as it may) is never in effect on the receiver.
                var options = part.Filesystem switch { "xfs" => "nouuid", "ext4" => "noinit_itable", _ => "defaults" } + ",nosuid,nodev";
                await ExternalTool.RunAsync("mount", ct, "-t", part.Filesystem, "-o", options, device, mount);
                if (format)
                {
                    using var root = Disks.Files.PosixFiles.OpenDirectory(mount);
                    _indexes[part.Tree] = TreeIndex.Fresh(Disks.Files.PosixFiles.ReadDirectory(root).Select(n => EntryPath.Key(n)));
                }
                _trees[part.Tree] = new TreeTarget(part.Tree, mount, part.Filesystem,
                    _indexes.TryGetValue(part.Tree, out var index) ? index : _indexes[part.Tree] = TreeIndex.Unknown());
            }
        }
    }

    private async Task MakeFilesystemAsync(string device, LayoutPartition p, bool freshUuids, CancellationToken ct)
    {
        var uuid = freshUuids || p.Uuid.Length == 0 ? null : p.Uuid;
        var args = new List<string>();
        string tool;
        switch (p.Filesystem)
        {
            case "ext4":
                tool = "mkfs.ext4";
                args.AddRange(["-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1"]);
                if (p.Features.Count > 0)
                {
                    // Exactly the source's features, not this mke2fs's defaults (which an older source kernel may not mount).
                    args.AddRange(["-O", "none," + string.Join(',', p.Features)]);
                }
                AddIf(args, "-b", p.BlockSize is 1024 or 2048 or 4096 ? p.BlockSize.ToString(CultureInfo.InvariantCulture) : null);
                AddIf(args, "-I", p.InodeSize is 128 or 256 or 512 or 1024 ? p.InodeSize.ToString(CultureInfo.InvariantCulture) : null);
                AddIf(args, "-U", uuid);
                AddIf(args, "-L", p.Label.Length > 0 ? p.Label : null);
                break;
            case "xfs":
                tool = "mkfs.xfs";
                args.AddRange(["-q", "-f"]);
                // The source's on-disk features (mkfs.xfs defaults such as reflink and bigtime need newer kernels).
                var metadata = p.Features.Where(f => f.Split('=')[0] is not ("sparse" or "nrext64")).ToList();
                var inodes = p.Features.Where(f => f.Split('=')[0] is "sparse" or "nrext64").ToList();
                if (uuid is not null)
                {
                    metadata.Add("uuid=" + uuid);
                }
                AddIf(args, "-m", metadata.Count > 0 ? string.Join(',', metadata) : null);
                AddIf(args, "-i", inodes.Count > 0 ? string.Join(',', inodes) : null);
                AddIf(args, "-L", p.Label.Length > 0 ? p.Label : null);
                break;
            case "vfat":
                tool = "mkfs.vfat";
                AddIf(args, "-i", uuid?.Replace("-", "", StringComparison.Ordinal));
                AddIf(args, "-n", p.Label.Length > 0 ? p.Label : null);
                break;
            default:
                tool = "mkswap";
                AddIf(args, "-U", uuid);
                AddIf(args, "-L", p.Label.Length > 0 ? p.Label : null);
                break;
        }
        args.Add(device);
        _log.LogInformation("Making {Filesystem} on {Device} for {MountPoint}", p.Filesystem, device, p.MountPoint.Length > 0 ? p.MountPoint : "swap");
        await ExternalTool.RunAsync(tool, args, ct);
    }

    /// <summary>The sfdisk input for a disk: 1 MiB-aligned partitions in the layout's order.</summary>
    public static string SfdiskScript(LayoutDisk disk, string bootMode)
    {
        var gpt = disk.PartitionTable == "gpt";
        var sb = new StringBuilder().Append("label: ").Append(gpt ? "gpt" : "dos").Append("\nunit: sectors\n");
        var bootable = false;
        foreach (var p in LayoutRules.Plan(disk, bootMode))
        {
            sb.Append(CultureInfo.InvariantCulture, $"start={p.StartBytes / 512}, size={p.SizeBytes / 512}, type={PartitionType(p, gpt)}");
            if (!gpt && !bootable && p.Partition?.MountPoint is "/boot" or "/")
            {
                sb.Append(", bootable");
                bootable = true;
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string PartitionType(PlannedPartition p, bool gpt) => (p.Partition?.Filesystem, p.Partition?.MountPoint) switch
    {
        (null, _) => "21686148-6449-6E6F-744E-656564454649",
        ("swap", _) => gpt ? "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" : "82",
        ("vfat", "/boot/efi") => gpt ? "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" : "ef",
        ("vfat", _) => gpt ? "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" : "c",
        _ => gpt ? "0FC63DAF-8483-4772-8E79-3D69D8477DE4" : "83",
    };

    /// <summary>Used bytes change from one sync to the next; everything else must match for the disks to be reused.</summary>
    private static bool SameLayout(TargetLayout a, TargetLayout b)
    {
        static TargetLayout Shape(TargetLayout l)
        {
            var copy = l.Clone();
            foreach (var p in copy.Disks.SelectMany(d => d.Partitions))
            {
                p.UsedBytes = 0;
            }
            return copy;
        }
        return Shape(a).Equals(Shape(b));
    }

    /// <summary>A receiver that died mid-session leaves mounts and loop devices behind; they are released before the disks are touched.</summary>
    private static async Task ReleaseStaleAsync(string workDirectory, CancellationToken ct)
    {
        await LoopDevice.UnmountBeneathAsync(workDirectory, ct);
        if (!Directory.Exists(workDirectory))
        {
            return;
        }
        foreach (var raw in Directory.EnumerateFiles(workDirectory, "*.raw"))
        {
            foreach (var line in (await ExternalTool.RunAsync("losetup", ct, "-j", raw)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await LoopDevice.TryRunAsync("losetup", ct, "-d", line.Split(':')[0]);
            }
        }
    }

    private static void AddIf(List<string> args, string flag, string? value)
    {
        if (value is not null)
        {
            args.Add(flag);
            args.Add(value);
        }
    }

    private static string RawPath(string workDirectory, LayoutDisk disk) => Path.Combine(workDirectory, disk.Name + ".raw");

    /// <summary>The partitions of a disk that hold a tree of files (not block-copied, not swap).</summary>
    private static IEnumerable<LayoutPartition> FileTrees(LayoutDisk disk) =>
        disk.Partitions.Where(p => !LayoutRules.IsBlock(p) && p.Filesystem != "swap");

    private static string IndexPath(string workDirectory, uint tree) => Path.Combine(workDirectory, "tree-" + tree.ToString(CultureInfo.InvariantCulture) + ".index");
}
