using System.Diagnostics;
using Ferry.Agent.Files;
using Ferry.Agent.Lifecycle;
using Ferry.Disks;
using Ferry.Disks.Allocation;
using Ferry.Disks.Filesystems;
using Ferry.Disks.Interop;
using Ferry.Disks.Mounts;
using Ferry.Snapshot;
using Ferry.Transfer;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Files;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Serilog;

namespace Ferry.Agent.Migration;

/// <summary>
/// A client-only file replication: complete the layout document from the mounted source
/// filesystems (type, UUID, label, used space), have the receiver build the target disks, send
/// each mount point's tree rsync-style, and finish so the receiver stores the images. On failure the
/// receiver keeps what it already has, so the next run sends only the difference; on cancel it
/// drops everything.
/// </summary>
public sealed class FileMigration(MigrateOptions options, ILogger log, TextWriter? console, TransferControl? control = null,
    TransferProgress? progress = null)
{
    public async Task<MigrationResult> RunAsync(CancellationToken ct)
    {
        if (!Posix.IsRoot)
        {
            throw new FerryException(ErrorCode.NotRoot, "the agent must run as root to read every file", "Run it with sudo: sudo ./agent migrate ...");
        }
        var clock = Stopwatch.StartNew();
        var document = options.Layout ?? throw new FerryException(ErrorCode.Usage, "file replication needs --layout LAYOUT.json");
        var excludes = ExcludeList.Load(AgentHome.Current.ExcludesPath).With(document.Excludes).With(options.Excludes);
        var snapshots = await SnapshotAsync(document, ct);
        List<SourceTree> trees = [];
        List<BlockPartition> blocks = [];
        try
        {
            (var layout, trees, blocks) = Complete(document, excludes, snapshots.ToDictionary(s => s.SourcePath, s => s.ViewPath));
            LayoutRules.Validate(layout);
            // The first tree's directories are read while the session opens.
            trees.FirstOrDefault()?.ReadAhead();
            using var receiver = new ReceiverClient(options);
            var open = new OpenSessionRequest
            {
                AgentVersion = typeof(FileMigration).Assembly.GetName().Version?.ToString() ?? "0",
                SourceName = options.SourceName ?? Environment.MachineName,
                ImageFormat = options.ImageFormat,
                Layout = layout,
                Incremental = options.Incremental ? new IncrementalSpec { Keep = (uint)options.Keep } : null,
            };
            var counters = progress ?? new TransferProgress();
            var reconnection = new Reconnection(options.ReconnectFor, log);
            var opened = false;
            while (true)
            {
                OpenSessionReply? session = null;
                try
                {
                    session = await receiver.OpenSessionAsync(open, ct);
                    opened = true;
                    return await TransferAsync(receiver, session, layout, trees, blocks, counters, clock, ct);
                }
                catch (Exception e)
                {
                    // Lost the receiver after it was reached: the session is opened again on the working copy the
                    // receiver kept, and the trees are sent again, which sends only the files that are missing or differ.
                    if (opened && !ct.IsCancellationRequested && await reconnection.WaitAsync(e, counters.DoneBytes, ct))
                    {
                        continue;
                    }
                    if (session is not null)
                    {
                        // Failed or interrupted: the receiver keeps what it has, so the next run sends only what is missing.
                        // A control-plane job that is cancelled is deleted: the receiver drops everything.
                        await receiver.AbandonAsync(session.SessionId, keepPartial: control is null || e is not OperationCanceledException, e, log);
                    }
                    throw;
                }
            }
        }
        finally
        {
            Dispose(trees, blocks);
            foreach (var view in snapshots)
            {
                await view.DeleteAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// A point-in-time view of each filesystem mounted read-write that is copied file by file, so that
    /// its tree is read as it was at one moment: a read-only btrfs snapshot, or an LVM snapshot of its
    /// logical volume mounted read-only; deleted at the end (and, should this run die, by the next one).
    /// Any other filesystem, or one whose snapshot cannot be made, is read live, and the user is told.
    /// </summary>
    private async Task<List<ISnapshotView>> SnapshotAsync(LayoutDocument document, CancellationToken ct)
    {
        var state = Path.Combine(AgentHome.Current.Directory, "Snapshots");
        var tools = new SystemTools();
        foreach (var left in (await BtrfsSnapshot.CleanUpAsync(state, ct)).Concat(await LvmSnapshot.CleanUpAsync(tools, state, ct)))
        {
            log.Information("Removed the snapshot {Snapshot} an earlier run left behind", left);
        }
        var views = new List<ISnapshotView>();
        if (!options.Freeze)
        {
            return views;
        }
        var mounts = MountTable.Read();
        try
        {
            foreach (var p in document.Disks.SelectMany(d => d.Partitions).Where(p => p.Mode == "file" && p.Filesystem != "swap"))
            {
                var (mountPoint, path, mount) = FindMount(p.MountPoint, mounts);
                if (mount.ReadOnly)
                {
                    continue;
                }
                if (mount.FsType == "btrfs")
                {
                    views.Add(await BtrfsSnapshot.CreateAsync(path, state, ct));
                }
                else if (await LvmSnapshot.FindAsync(tools, mount.Source, ct) is { } lv)
                {
                    LvmSnapshot? snapshot = null;
                    try
                    {
                        snapshot = await LvmSnapshot.CreateAsync(tools, lv, path, state, ct);
                        await snapshot.MountAsync(Path.Combine("/run/ferry/snapshots", $"{lv.Group}-{lv.Name}"), mount.FsType, ct);
                        views.Add(snapshot);
                    }
                    catch (SnapshotException e)
                    {
                        if (snapshot is not null)
                        {
                            await snapshot.DeleteAsync(CancellationToken.None);
                        }
                        log.Warning("{MountPoint} is read live: {Reason}", mountPoint, e.Message);
                        continue;
                    }
                }
                else
                {
                    log.Warning("{MountPoint} ({FsType} on {Device}) is mounted read-write and has no snapshot provider: its files are read live, " +
                        "and files that change meanwhile are sent again or at the next sync", mountPoint, mount.FsType, mount.Source);
                    continue;
                }
                log.Information("{MountPoint} is mounted read-write: its files are read from {View}, a snapshot taken now", mountPoint, views[^1].ViewPath);
            }
            return views;
        }
        catch
        {
            foreach (var view in views)
            {
                await view.DeleteAsync(CancellationToken.None);
            }
            throw;
        }
    }

    private async Task<MigrationResult> TransferAsync(ReceiverClient receiver, OpenSessionReply session, TargetLayout layout, List<SourceTree> trees,
        List<BlockPartition> blocks, TransferProgress counters, Stopwatch clock, CancellationToken ct)
    {
        var used = layout.Disks.SelectMany(d => d.Partitions).Sum(p => (long)p.UsedBytes);
        log.Information("Session {SessionId} opened on {Receiver}; {Trees} file tree(s), {UsedBytes} bytes in use on the source",
            Convert.ToHexStringLower(session.SessionId.Span)[..8], options.Receiver, trees.Count, used);
        counters.SetTotal(used);
        counters.Phase = "files";
        var transfer = control ?? new TransferControl { CompressionLevel = options.Compression };
        if (control is null)
        {
            transfer.SetBandwidth(options.BandwidthMbit);
        }
        using var sender = new FileTreeSender(transfer, counters, message => log.Warning("{Warning}", message)) { SendNewFilesAtOnce = session.NewDisks };
        await using (var reporter = console is null ? null : new ProgressReporter(counters, options.JsonProgress, !Console.IsOutputRedirected, console))
        {
            reporter?.Start();
            var credentials = new SessionCredentials(session.SessionId.ToByteArray(), DataHandshake.Key(options.Token));
            if (trees.Count > 0)
            {
                await sender.SendAsync(c => DataConnector.ConnectAsync(options, c), credentials, trees, ct);
            }
            if (blocks.Count > 0)
            {
                counters.Phase = "blocks";
                await BlockMigration.SendAsync(options, control, counters, receiver, session, BlockSources(layout, blocks), ct);
            }
            counters.Phase = "done";
            reporter?.Report(final: true);
        }

        var synced = clock.Elapsed;
        var diskBytes = layout.Disks.Sum(d => (long)d.SizeBytes);
        var finished = await receiver.FinishAsync(new FinishSessionRequest { SessionId = session.SessionId, FinalCycle = options.FinalCycle }, diskBytes, ct);
        var s = sender.Stats;
        log.Information("Files: {Entries} entries; {Whole} sent whole, {Delta} as deltas ({Literal} new bytes), {Unchanged} unchanged; {DataWire} bytes of file data on the wire",
            s.Entries, s.WholeFiles, s.DeltaFiles, s.LiteralBytes, s.UnchangedFiles, s.DataWireBytes);
        if (options.JsonProgress && console is not null)
        {
            var summary = new FileSummary("summary", s.Entries, s.WholeFiles, s.DeltaFiles, s.UnchangedFiles, s.DataWireBytes, s.LiteralBytes,
                counters.WireBytes, s.ResentFiles, s.VanishedFiles, s.ChangedWhileRead, synced.TotalSeconds, clock.Elapsed.TotalSeconds);
            console.WriteLine(System.Text.Json.JsonSerializer.Serialize(summary, AgentJsonContext.Default.FileSummary));
        }
        return new MigrationResult(counters.DoneBytes, counters.WireBytes, diskBytes, s.ResentFiles, clock.Elapsed, finished.Targets.Select(t => t.Path).ToList())
        {
            Cycle = (int)session.Cycle,
            SyncElapsed = synced,
        };
    }

    /// <summary>Block-mode partitions as disks to send: each read from its source partition, addressed where it lies on the target disk.</summary>
    private static List<DiskSource> BlockSources(TargetLayout layout, List<BlockPartition> blocks) =>
        blocks.GroupBy(b => b.Disk).Select(g =>
        {
            var plan = LayoutRules.Plan(g.Key, layout.BootMode);
            var placed = g.Select(b => (Start: plan.Single(p => ReferenceEquals(p.Partition, b.Partition)).StartBytes, Block: b)).ToList();
            var reader = new MappedReader((long)g.Key.SizeBytes, placed.Select(p => (p.Start, (IByteReader)DeviceRegion.WholeDisk(p.Block.Device))).ToList());
            var ranges = placed.SelectMany(p => p.Block.Used.Select(r => r.Shift(p.Start))).OrderBy(r => r.Offset).ToList();
            return new DiskSource(g.Key.Index, g.Key.Name, reader, ranges);
        }).ToList();

    private static void Dispose(List<SourceTree> trees, List<BlockPartition> blocks)
    {
        foreach (var tree in trees)
        {
            tree.Dispose();
        }
        foreach (var block in blocks)
        {
            block.Device.Dispose();
        }
    }

    /// <summary>The receiver's layout, from the document and what the source's mounted filesystems say of themselves.</summary>
    /// <param name="snapshots">Per mount path, where a snapshot of it is: its tree is read from there.</param>
    private (TargetLayout Layout, List<SourceTree> Trees, List<BlockPartition> Blocks) Complete(LayoutDocument document, ExcludeList excludes,
        Dictionary<string, string> snapshots)
    {
        var mounts = MountTable.Read();
        var layout = new TargetLayout
        {
            BootMode = document.BootMode ?? (Directory.Exists("/sys/firmware/efi") ? "uefi" : "bios"),
            FreshUuids = document.FreshUuids,
        };
        var trees = new List<SourceTree>();
        var blocks = new List<BlockPartition>();
        try
        {
            foreach (var (d, index) in document.Disks.Select((d, i) => (d, (uint)i)))
            {
                var disk = new LayoutDisk
                {
                    Index = index,
                    Name = d.Name,
                    SizeBytes = (ulong)RoundUpMib(Size(d.Size, $"disk {d.Name}") ?? 0),
                    PartitionTable = d.PartitionTable,
                };
                foreach (var p in d.Partitions)
                {
                    if (p.Mode == "block")
                    {
                        var block = DescribeBlock(p, disk, mounts);
                        blocks.Add(block);
                        disk.Partitions.Add(block.Partition);
                        continue;
                    }
                    if (p.Mode != "file")
                    {
                        throw new FerryException(ErrorCode.LayoutInvalid, $"disk {d.Name}: mode '{p.Mode}' must be file or block");
                    }
                    var size = (ulong)(Size(p.Size, $"disk {d.Name} partition {p.MountPoint ?? p.Filesystem}") ?? 0);
                    if (p.Filesystem == "swap")
                    {
                        disk.Partitions.Add(new LayoutPartition { SizeBytes = size, Filesystem = "swap" });
                        continue;
                    }
                    var tree = (uint)trees.Count;
                    var (partition, path) = Describe(p, tree, mounts);
                    partition.SizeBytes = size;
                    disk.Partitions.Add(partition);
                    trees.Add(new SourceTree(tree, snapshots.GetValueOrDefault(path, path), partition.MountPoint, excludes.With(p.Excludes), message => log.Warning("{Warning}", message)));
                }
                layout.Disks.Add(disk);
            }
            return (layout, trees, blocks);
        }
        catch
        {
            Dispose(trees, blocks);
            throw;
        }
    }

    /// <summary>
    /// A block-mode partition: the source partition is copied by its used blocks into a partition of
    /// the same size (rounded up to whole MiB), its filesystem untouched.
    /// </summary>
    private BlockPartition DescribeBlock(LayoutDocumentPartition p, LayoutDisk disk, MountTable mounts)
    {
        var (mountPoint, _, mount) = FindMount(p.MountPoint, mounts);
        var device = BlockDevice.OpenRead(mount.Source);
        try
        {
            var region = DeviceRegion.WholeDisk(device);
            var fs = FilesystemProbe.Probe(region);
            var used = UsedRanges.Read(region, fs) ?? [new ByteRange(0, device.SizeBytes)];
            if (Size(p.Size, $"disk {disk.Name} partition {mountPoint}") is { } requested && RoundUpMib(requested) != RoundUpMib(device.SizeBytes))
            {
                throw new FerryException(ErrorCode.LayoutInvalid,
                    $"target layout: {mountPoint} is in block mode, which keeps the partition's size: {RoundUpMib(device.SizeBytes) >> 20} MiB, not {RoundUpMib(requested) >> 20} MiB",
                    "Leave its size out, or use file mode to resize it.");
            }
            if (!mount.ReadOnly)
            {
                log.Warning("{MountPoint} is mounted read-write and is copied block by block while live; stop its writers for a consistent copy", mountPoint);
            }
            var partition = new LayoutPartition
            {
                Mode = "block",
                MountPoint = mountPoint,
                Filesystem = fs?.Type ?? "unknown",
                Uuid = fs?.Uuid ?? "",
                Label = fs?.Label ?? "",
                SizeBytes = (ulong)device.SizeBytes,
                UsedBytes = (ulong)RangeList.TotalLength(used),
                SourceDevice = mount.Source.StartsWith("/dev/", StringComparison.Ordinal) ? mount.Source : "",
            };
            return new BlockPartition(disk, partition, device, used);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>The source's mount of a layout's mount point, and where it is on this machine.</summary>
    private (string MountPoint, string Path, MountEntry Mount) FindMount(string? mountPoint, MountTable mounts)
    {
        mountPoint ??= "";
        if (!LayoutRules.IsMountPoint(mountPoint))
        {
            throw new FerryException(ErrorCode.LayoutInvalid, $"target layout: mount point '{mountPoint}' must be an absolute path such as / or /data");
        }
        var path = mountPoint == "/" ? options.SourceRoot : Path.Combine(options.SourceRoot, mountPoint.TrimStart('/'));
        var full = Path.GetFullPath(path).TrimEnd('/');
        var mount = mounts.Entries.LastOrDefault(m => m.MountPoint.TrimEnd('/') == full || (full.Length == 0 && m.MountPoint == "/"))
            ?? throw new FerryException(ErrorCode.LayoutInvalid, $"{mountPoint} is not a mount point on this server ({path} is not mounted)",
                "List each filesystem to migrate by the mount point that `findmnt` shows for it.");
        return (mountPoint, path, mount);
    }

    /// <summary>The partition for a mount point: filesystem type, UUID and label from the source, and its used space.</summary>
    private (LayoutPartition Partition, string Path) Describe(LayoutDocumentPartition p, uint tree, MountTable mounts)
    {
        var (mountPoint, path, mount) = FindMount(p.MountPoint, mounts);
        var info = ProbeDevice(mount.Source);
        var target = p.Filesystem ?? (mount.FsType is "ext4" or "xfs" or "vfat" ? mount.FsType : "ext4");
        if (p.Filesystem is null && target != mount.FsType)
        {
            log.Warning("{MountPoint} is {Type} on the source and becomes ext4 on the target", mountPoint, mount.FsType);
        }
        // A UUID carries over only where its form fits the new filesystem (a vfat serial is no ext4 UUID).
        var uuid = info?.Uuid is { } u && (target == "vfat" ? u.Length == 9 : Guid.TryParse(u, out _)) ? u : "";
        var label = info?.Label ?? "";
        var space = FilesystemSpace.TryRead(path) ?? throw new FerryException(ErrorCode.SourceRead, $"cannot read the space used on {path}");
        var partition = new LayoutPartition
        {
            MountPoint = mountPoint,
            Filesystem = target,
            Uuid = uuid,
            Label = label.Length <= (target switch { "xfs" => 12, "vfat" => 11, _ => 16 }) ? label : "",
            UsedBytes = (ulong)space.UsedBytes,
            Tree = tree,
            SourceDevice = mount.Source.StartsWith("/dev/", StringComparison.Ordinal) ? mount.Source : "",
        };
        if (target == "ext4" && info is { Type: "ext2" or "ext3" or "ext4", Features.Count: > 0 })
        {
            // The new ext4 gets the source's features and geometry: the source's kernel boots with it.
            partition.Features.AddRange(info.Features.Contains("extent") ? info.Features : [.. info.Features, "extent"]);
            partition.BlockSize = (uint)info.BlockSize;
            partition.InodeSize = (uint)info.InodeSize;
        }
        else if (target == "xfs" && info is { Type: "xfs" })
        {
            partition.Features.AddRange(info.Features);
        }
        return (partition, path);
    }

    private FilesystemInfo? ProbeDevice(string device)
    {
        try
        {
            using var handle = BlockDevice.OpenRead(device);
            return FilesystemProbe.Probe(DeviceRegion.WholeDisk(handle));
        }
        catch (DiskException e)
        {
            log.Warning("Cannot read {Device} to learn its UUID and label ({Message}); the target gets new ones", device, e.Message);
            return null;
        }
    }

    private static long? Size(string? text, string what) =>
        text is null or "" or "0" ? null : ByteSize.Parse(text) ?? throw new FerryException(ErrorCode.LayoutInvalid,
            $"target layout: {what} has size '{text}', which is not a size", "Write sizes like 512MiB, 20GiB or a number of bytes.");

    private static long RoundUpMib(long bytes) => (bytes + (1 << 20) - 1) >> 20 << 20;
}
