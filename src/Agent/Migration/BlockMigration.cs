using System.Diagnostics;
using Ferry.Agent.Inventory;
using Ferry.Disks;
using Ferry.Disks.Interop;
using Ferry.Disks.Mounts;
using Ferry.Disks.Planning;
using Ferry.Snapshot;
using Ferry.Transfer;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Pacing;
using Ferry.Transfer.Protocol;
using Serilog;

namespace Ferry.Agent.Migration;

/// <summary>
/// A client-only block migration: plan each disk (boot areas plus used blocks), open a session on
/// the receiver's control channel, stream the frames over the data channel, verify end to end when
/// asked, and finish so the receiver publishes the images. Under a control plane, <paramref name="control"/>
/// carries pause and modify into the running transfer and <paramref name="progress"/> is read by the
/// job runner; cancelling abandons the receiver's session so that its space is freed.
/// </summary>
public sealed class BlockMigration(MigrateOptions options, ILogger log, TextWriter? console, TransferControl? control = null,
    TransferProgress? progress = null)
{
    private const int VerifyBatch = 4096;

    public async Task<MigrationResult> RunAsync(CancellationToken ct)
    {
        Validate();
        if (!Posix.IsRoot)
        {
            throw new FerryException(ErrorCode.NotRoot, "the agent must run as root to read disks", "Run it with sudo: sudo ./agent migrate ...");
        }
        var clock = Stopwatch.StartNew();
        var devices = new List<BlockDevice>();
        try
        {
            var mounts = MountTable.Read();
            var sources = new List<DiskSource>();
            foreach (var (path, index) in options.Disks.Select((p, i) => (p, (uint)i)))
            {
                var device = BlockDevice.OpenRead(path);
                devices.Add(device);
                var name = InventoryCollector.DiskName(path);
                var plan = BlockPlanner.Plan(device);
                ExplainPlan(name, plan, mounts);
                sources.Add(new DiskSource(index, name, DeviceRegion.WholeDisk(device), plan.Ranges));
            }

            using var receiver = new ReceiverClient(options);
            var open = new OpenSessionRequest
            {
                AgentVersion = typeof(BlockMigration).Assembly.GetName().Version?.ToString() ?? "0",
                SourceName = options.SourceName ?? Environment.MachineName,
                ImageFormat = options.ImageFormat,
            };
            open.Disks.AddRange(sources.Select(s => new SourceDisk
            {
                Index = s.Index,
                Name = s.Name,
                SizeBytes = (ulong)s.SizeBytes,
                LogicalSectorSize = (uint)devices[(int)s.Index].LogicalSectorSize,
                PlannedBytes = (ulong)s.PlannedBytes,
            }));
            var session = await receiver.OpenSessionAsync(open, ct);
            try
            {
                return await TransferAsync(receiver, session, sources, clock, ct);
            }
            catch (Exception e)
            {
                // Cancelled or failed: the receiver drops the unfinished images now rather than holding their space.
                await receiver.AbandonAsync(session.SessionId, keepPartial: false, e, log);
                throw;
            }
        }
        finally
        {
            foreach (var d in devices)
            {
                d.Dispose();
            }
        }
    }

    private async Task<MigrationResult> TransferAsync(ReceiverClient receiver, OpenSessionReply session, List<DiskSource> sources,
        Stopwatch clock, CancellationToken ct)
    {
        log.Information("Session {SessionId} opened on {Receiver}; {PlannedBytes} bytes to send", Convert.ToHexStringLower(session.SessionId.Span)[..8],
            options.Receiver, sources.Sum(s => s.PlannedBytes));

        var counters = progress ?? new TransferProgress();
        await using (var reporter = console is null ? null : new ProgressReporter(counters, options.JsonProgress, !Console.IsOutputRedirected, console))
        {
            reporter?.Start();
            await SendAsync(options, control, counters, receiver, session, sources, ct);
            counters.Phase = "done";
            reporter?.Report(final: true);
        }

        var finished = await receiver.FinishAsync(new FinishSessionRequest { SessionId = session.SessionId }, sources.Sum(s => s.SizeBytes), ct);
        return new MigrationResult(counters.DoneBytes, counters.WireBytes, sources.Sum(s => s.SizeBytes), counters.ResentFrames,
            clock.Elapsed, finished.Targets.Select(t => t.Path).ToList());
    }

    private void Validate()
    {
        if (options.Disks.Count == 0)
        {
            throw new FerryException(ErrorCode.Usage, "no disk given", "Name each disk to migrate with --disk /dev/X.");
        }
        if (options.Compression is < 0 or > 10)
        {
            throw new FerryException(ErrorCode.Usage, $"--compress {options.Compression} is outside 0-10", "0 turns compression off; 7 is the default.");
        }
        if (options.BandwidthMbit < 0 || options.Streams is < 1 or > 16 || options.ControlPort is < 1 or > 65535 || options.DataPort is < 1 or > 65535)
        {
            throw new FerryException(ErrorCode.Usage, "--bandwidth must be >= 0, --streams 1-16, ports 1-65535");
        }
        if (!ImageFormat.IsKnown(options.ImageFormat))
        {
            throw new FerryException(ErrorCode.Usage, $"--format {options.ImageFormat} is not one of {string.Join(", ", ImageFormat.All)}");
        }
        if (options.Disks.Distinct().Count() != options.Disks.Count)
        {
            throw new FerryException(ErrorCode.Usage, "a disk is named twice", "Give each --disk once.");
        }
    }

    private void ExplainPlan(string name, DiskPlan plan, MountTable mounts)
    {
        foreach (var p in plan.Partitions)
        {
            var partName = SysBlock.PartitionNames(name).GetValueOrDefault(p.Partition.Number) ?? name;
            var dev = SysBlock.Device(partName);
            var mounted = dev is { } d ? mounts.ForDevice(d.Major, d.Minor).ToList() : [];
            var view = ViewSelector.Choose("/dev/" + partName, mounted);
            if (!view.Consistent)
            {
                log.Warning("{Reason}", view.Reason);
            }
            log.Information("{Disk} partition {Number}: {FsType}, {Method}, {PlannedBytes} of {SizeBytes} bytes", name, p.Partition.Number,
                p.Filesystem?.Type ?? "unknown", p.Method, p.PlannedBytes, p.Partition.SizeBytes);
        }
    }

    /// <summary>Sends the planned ranges of <paramref name="sources"/> into an open session and, when asked, verifies them end to end.</summary>
    internal static async Task SendAsync(MigrateOptions options, TransferControl? control, TransferProgress counters, ReceiverClient receiver,
        OpenSessionReply session, IReadOnlyList<DiskSource> sources, CancellationToken ct)
    {
        var sender = new BlockSender(new BlockSendOptions
        {
            CompressionLevel = options.Compression,
            Streams = options.Streams,
            RateLimit = TokenBucket.FromMegabits(options.BandwidthMbit),
            RecordHashes = options.Checksum || control is not null,
            Control = control,
        }, counters);
        var credentials = new SessionCredentials(session.SessionId.ToByteArray(), DataHandshake.Key(options.Token));
        await sender.SendAsync(sources, c => DataChannelClient.OpenAsync(d => DataConnector.ConnectAsync(options, d), credentials, c), ct);
        if (control?.Checksum ?? options.Checksum)
        {
            counters.Phase = "verifying";
            await VerifyAsync(receiver, session.SessionId, sender.Sent, sources, ct);
        }
    }

    private static async Task VerifyAsync(ReceiverClient receiver, Google.Protobuf.ByteString sessionId,
        IReadOnlyDictionary<uint, List<SentRange>> sent, IReadOnlyList<DiskSource> sources, CancellationToken ct)
    {
        foreach (var source in sources)
        {
            var ranges = sent[source.Index];
            for (var i = 0; i < ranges.Count; i += VerifyBatch)
            {
                var request = new VerifyRequest { SessionId = sessionId, Disk = source.Index };
                request.Ranges.AddRange(ranges.Skip(i).Take(VerifyBatch).Select(r => new RangeHash { Offset = (ulong)r.Offset, Length = (uint)r.Length, Xxh3 = r.Xxh3 }));
                var reply = await receiver.VerifyAsync(request, ct);
                if (reply.Mismatched.Count > 0)
                {
                    var first = reply.Mismatched[0];
                    throw new FerryException(ErrorCode.VerifyMismatch,
                        $"verification failed: {reply.Mismatched.Count} range(s) of disk {source.Name} differ on the receiver, the first at offset {first.Offset}",
                        "The receiver's storage returned other data than was written; check its disk, then migrate again.");
                }
            }
        }
    }
}
