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
            var freeze = new List<string>();
            foreach (var (path, index) in options.Disks.Select((p, i) => (p, (uint)i)))
            {
                var device = BlockDevice.OpenRead(path);
                devices.Add(device);
                var name = InventoryCollector.DiskName(path);
                var plan = BlockPlanner.Plan(device);
                freeze.AddRange(ExplainPlan(name, plan, mounts));
                sources.Add(new DiskSource(index, name, DeviceRegion.WholeDisk(device), Ranges(plan, device, options)));
            }

            using var receiver = new ReceiverClient(options);
            var sourceName = options.SourceName ?? Environment.MachineName;
            var open = new OpenSessionRequest
            {
                AgentVersion = typeof(BlockMigration).Assembly.GetName().Version?.ToString() ?? "0",
                SourceName = sourceName,
                ImageFormat = options.ImageFormat,
                Incremental = options.Incremental ? new IncrementalSpec { Keep = (uint)options.Keep } : null,
            };
            open.Disks.AddRange(sources.Select(s => new SourceDisk
            {
                Index = s.Index,
                Name = s.Name,
                SizeBytes = (ulong)s.SizeBytes,
                LogicalSectorSize = (uint)devices[(int)s.Index].LogicalSectorSize,
                PlannedBytes = (ulong)s.PlannedBytes,
            }));
            var checkpoint = BlockCheckpoint.PathFor(Lifecycle.AgentHome.Current.Directory, $"{options.Receiver}:{options.ControlPort}", sourceName, options.Disks);
            try
            {
                return await TransferAsync(receiver, open, [.. devices.Zip(sources)], freeze, checkpoint, clock, ct);
            }
            catch (Exception e) when (_session is { } session)
            {
                // A control-plane job that is cancelled is deleted: the receiver drops its unfinished images, and the
                // breakpoint goes. Otherwise (a failure, or Ctrl-C in client-only mode) both stay for the next run to resume.
                var discard = control is not null && e is OperationCanceledException;
                await receiver.AbandonAsync(session, keepPartial: !discard, e, log);
                if (discard)
                {
                    BlockCheckpoint.Delete(checkpoint);
                }
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

    /// <summary>What of a plan is sent: the used blocks, widened to whole regions for an incremental job (whose cycles compare regions).</summary>
    internal static IReadOnlyList<ByteRange> Ranges(DiskPlan plan, BlockDevice device, MigrateOptions options) =>
        options.Incremental ? RegionDigest.AlignOut(plan.Ranges, device.SizeBytes) : plan.Ranges;

    /// <summary>The receiver's session, once one is open (to abandon it on failure).</summary>
    private Google.Protobuf.ByteString? _session;

    /// <summary>
    /// Sends every disk's planned ranges (resuming from a breakpoint where there is one), makes
    /// filesystems mounted read-write consistent, verifies when asked, and finishes the session.
    /// </summary>
    /// <param name="freeze">Mount points of filesystems mounted read-write on these disks: a convergent copy with a frozen last pass makes them consistent.</param>
    private async Task<MigrationResult> TransferAsync(ReceiverClient receiver, OpenSessionRequest open, List<(BlockDevice Device, DiskSource Source)> disks,
        List<string> freeze, string checkpointPath, Stopwatch clock, CancellationToken ct)
    {
        var sources = disks.Select(d => d.Source).ToList();
        var counters = progress ?? new TransferProgress();
        counters.SetTotal(sources.Sum(s => s.PlannedBytes));
        var digest = options.Incremental ? new ReceiverDigest(receiver, ct) : null;
        var sender = NewSender(options, control, counters, digest: digest);
        var reconnection = new Reconnection(options.ReconnectFor, log);
        long sent;
        long resumedFrom;
        TimeSpan? frozenFor = null;
        await using (var reporter = console is null ? null : new ProgressReporter(counters, options.JsonProgress, !Console.IsOutputRedirected, console))
        {
            reporter?.Start();
            (var session, resumedFrom) = await SendResumableAsync(receiver, open, sources, sender, digest, counters, reconnection, checkpointPath, ct);
            Cycle = (int)session.Cycle;
            // What this run read and sent: not what an earlier run had made durable, but what it sent again.
            sent = counters.DoneBytes - resumedFrom + counters.RepeatedBytes - counters.UnchangedBytes;
            IReadOnlyDictionary<uint, List<SentRange>> held = sender.Sent;
            var final = sources;
            var written = SentRanges(sender.Sent);
            if (freeze.Count > 0)
            {
                var converging = new ConvergentCopy(options, log, counters, control, digest is null ? null : receiver);
                final = await converging.RunAsync(sender.Sent, session, disks, freeze, ct);
                held = converging.Held;
                sent += converging.SentBytes;
                frozenFor = converging.LastFreeze;
                foreach (var (disk, ranges) in SentRanges(converging.SentEver))
                {
                    written.TryAdd(disk, []);
                    written[disk].AddRange(ranges);
                }
            }
            if (control?.Checksum ?? options.Checksum)
            {
                counters.Phase = "verifying";
                if (digest is null)
                {
                    await VerifyAsync(receiver, session.SessionId, held, final, ct);
                }
                else
                {
                    // A cycle verifies what it wrote; the rest was verified by the cycle that wrote it, and the digest says it is unchanged.
                    await VerifyAgainstDigestAsync(receiver, session.SessionId, written, sources, ct);
                }
            }
            counters.Phase = "done";
            reporter?.Report(final: true);
        }

        var synced = clock.Elapsed;
        var finished = await receiver.FinishAsync(new FinishSessionRequest { SessionId = _session, FinalCycle = options.FinalCycle }, sources.Sum(s => s.SizeBytes), ct);
        _session = null;
        BlockCheckpoint.Delete(checkpointPath);
        return new MigrationResult(sent, counters.WireBytes, sources.Sum(s => s.SizeBytes), counters.ResentFrames,
            clock.Elapsed, finished.Targets.Select(t => t.Path).ToList())
        {
            ResumedFromBytes = resumedFrom,
            RepeatedBytes = counters.RepeatedBytes,
            Reconnects = reconnection.Attempts,
            FrozenFor = frozenFor,
            Cycle = Cycle,
            SyncElapsed = synced,
        };
    }

    /// <summary>
    /// Opens (or resumes) the session and sends what is not yet durable on the receiver; after a
    /// failure that a new connection can cure, opens it again and goes on from the durable positions.
    /// Returns the session and how many bytes an earlier run had made durable.
    /// </summary>
    /// <param name="digest">
    /// Incremental: what the receiver holds. A cycle needs no breakpoint: after a lost connection it
    /// starts over, and what already arrived matches the digest and is not sent again.
    /// </param>
    private async Task<(OpenSessionReply Session, long ResumedFrom)> SendResumableAsync(ReceiverClient receiver, OpenSessionRequest open,
        List<DiskSource> sources, BlockSender sender, ReceiverDigest? digest, TransferProgress counters, Reconnection reconnection, string checkpointPath,
        CancellationToken ct)
    {
        var saved = digest is null ? BlockCheckpoint.Load(checkpointPath) : null;
        long resumedFrom = -1;
        while (true)
        {
            DurablePositions? positions = null;
            try
            {
                open.ResumeSessionId = saved is null ? Google.Protobuf.ByteString.Empty : Google.Protobuf.ByteString.CopyFrom(Convert.FromHexString(saved.SessionId));
                var session = await receiver.OpenSessionAsync(open, ct);
                _session = session.SessionId;
                if (digest is not null)
                {
                    digest.Begin(session.SessionId);
                    Announce(session, 0, sources);
                    counters.StartPass(sources.Sum(s => s.PlannedBytes));
                    await SendOnceAsync(sender, options, session, sources, positions: null, ct);
                    return (session, 0);
                }
                var start = session.Resumed && saved is not null ? saved.StartFor(sources) : sources.ToDictionary(s => s.Index, _ => 0L);
                saved = BlockCheckpoint.Of(Convert.ToHexStringLower(session.SessionId.Span), sources, start);
                saved.Save(checkpointPath);
                var durable = DurableBytes(sources, start);
                counters.RewindTo(durable);
                if (resumedFrom < 0)
                {
                    resumedFrom = durable;
                    Announce(session, durable, sources);
                }
                positions = new DurablePositions(start);
                var remaining = sources.Select(s => s with { Ranges = RangeList.From(s.Ranges, start[s.Index]) }).ToList();
                using var saving = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var saver = SaveWhileSendingAsync(positions, session, sources, checkpointPath, saving.Token);
                try
                {
                    await SendOnceAsync(sender, options, session, remaining, positions, ct);
                }
                finally
                {
                    await saving.CancelAsync();
                    saved = await saver;
                }
                return (session, resumedFrom);
            }
            // A receiver never reached is a wrong address or port, said at once; one that was reached is waited for.
            catch (Exception e) when (!ct.IsCancellationRequested && _session is not null && Reconnection.IsTransient(e))
            {
                var durable = positions is null ? counters.DoneBytes : DurableBytes(sources, positions.Positions());
                log.Debug("Interrupted with {DurableBytes} bytes durable on the receiver (sent: {DoneBytes})", durable, counters.DoneBytes);
                counters.RewindTo(durable);
                if (!await reconnection.WaitAsync(e, durable, ct))
                {
                    throw;
                }
            }
        }
    }

    private void Announce(OpenSessionReply session, long durable, List<DiskSource> sources)
    {
        var id = Convert.ToHexStringLower(session.SessionId.Span)[..8];
        if (session.Cycle > 0)
        {
            log.Information("Session {SessionId} opened on {Receiver}: cycle {Cycle} of the incremental job; comparing {PlannedBytes} bytes with the receiver's digest",
                id, options.Receiver, session.Cycle, sources.Sum(s => s.PlannedBytes));
        }
        else if (session.Resumed)
        {
            log.Information("Session {SessionId} resumed on {Receiver}: {DurableBytes} of {PlannedBytes} bytes were already durable there",
                id, options.Receiver, durable, sources.Sum(s => s.PlannedBytes));
        }
        else
        {
            log.Information("Session {SessionId} opened on {Receiver}; {PlannedBytes} bytes to send", id, options.Receiver, sources.Sum(s => s.PlannedBytes));
        }
    }

    /// <summary>Writes the breakpoint whenever the receiver acknowledged more (checked every 200 ms) and once more at the end; returns the last one written.</summary>
    private static async Task<BlockCheckpoint> SaveWhileSendingAsync(DurablePositions positions, OpenSessionReply session, List<DiskSource> sources,
        string path, CancellationToken ct)
    {
        var id = Convert.ToHexStringLower(session.SessionId.Span);
        var version = positions.Version;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                if (positions.Version != version)
                {
                    version = positions.Version;
                    BlockCheckpoint.Of(id, sources, positions.Positions()).Save(path);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        var last = BlockCheckpoint.Of(id, sources, positions.Positions());
        last.Save(path);
        return last;
    }

    /// <summary>The planned bytes of <paramref name="sources"/> below each disk's position.</summary>
    private static long DurableBytes(List<DiskSource> sources, Dictionary<uint, long> positions) =>
        sources.Sum(s => s.PlannedBytes - RangeList.TotalLength(RangeList.From(s.Ranges, positions[s.Index])));

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
        if (options.BandwidthMbit < 0 || options.Streams is < 1 or > 16 || options.ControlPort is < 1 or > 65535 || options.DataPort is < 1 or > 65535
            || options.CheckpointMib is < 1 or > 1024)
        {
            throw new FerryException(ErrorCode.Usage, "--bandwidth must be >= 0, --streams 1-16, --checkpoint-mib 1-1024, ports 1-65535");
        }
        if (!ImageFormat.IsKnown(options.ImageFormat))
        {
            throw new FerryException(ErrorCode.Usage, $"--format {options.ImageFormat} is not one of {string.Join(", ", ImageFormat.All)}");
        }
        if (options.Incremental && (options.Keep is < 1 or > 100 || options.Cycles < 0))
        {
            throw new FerryException(ErrorCode.Usage, "--keep must be 1-100 and --cycles 0 or more");
        }
        if ((options.Cutover || options.Cycles > 0) && !options.Incremental)
        {
            throw new FerryException(ErrorCode.Usage, "--cycles and --cutover belong to an incremental job", "Add --incremental.");
        }
        if (options.Disks.Distinct().Count() != options.Disks.Count)
        {
            throw new FerryException(ErrorCode.Usage, "a disk is named twice", "Give each --disk once.");
        }
    }

    /// <summary>Says how each partition is read and why; returns the mount points to freeze for the last pass.</summary>
    private List<string> ExplainPlan(string name, DiskPlan plan, MountTable mounts)
    {
        var freeze = new List<string>();
        foreach (var p in plan.Partitions)
        {
            var partName = SysBlock.PartitionNames(name).GetValueOrDefault(p.Partition.Number) ?? name;
            var dev = SysBlock.Device(partName);
            var mounted = dev is { } d ? mounts.ForDevice(d.Major, d.Minor).ToList() : [];
            var view = ViewSelector.Choose("/dev/" + partName, mounted, options.Freeze ? options.FreezeBound : null);
            if (!view.Consistent)
            {
                log.Warning("{Reason}", view.Reason);
            }
            else
            {
                log.Information("{Reason}", view.Reason);
            }
            if (view.Provider == ViewSelector.Freeze)
            {
                // One mount per filesystem is enough to freeze it (a bind mount shares the superblock).
                freeze.Add(mounted.First(m => !m.ReadOnly).MountPoint);
            }
            log.Information("{Disk} partition {Number}: {FsType}, {Method}, {PlannedBytes} of {SizeBytes} bytes", name, p.Partition.Number,
                p.Filesystem?.Type ?? "unknown", p.Method, p.PlannedBytes, p.Partition.SizeBytes);
        }
        return freeze;
    }

    /// <summary>Sends the planned ranges of <paramref name="sources"/> into an open session and, when asked, verifies them end to end (one attempt).</summary>
    internal static async Task SendAsync(MigrateOptions options, TransferControl? control, TransferProgress counters, ReceiverClient receiver,
        OpenSessionReply session, IReadOnlyList<DiskSource> sources, CancellationToken ct)
    {
        var sender = NewSender(options, control, counters);
        await SendOnceAsync(sender, options, session, sources, positions: null, ct);
        if (control?.Checksum ?? options.Checksum)
        {
            counters.Phase = "verifying";
            await VerifyAsync(receiver, session.SessionId, sender.Sent, sources, ct);
        }
    }

    internal static BlockSender NewSender(MigrateOptions options, TransferControl? control, TransferProgress counters,
        Func<uint, long, int, ulong, bool>? unchanged = null, IRegionDigest? digest = null) => new(new BlockSendOptions
        {
            CompressionLevel = options.Compression,
            Streams = options.Streams,
            RateLimit = TokenBucket.FromMegabits(options.BandwidthMbit),
            RecordHashes = options.Checksum || control is not null,
            Control = control,
            CheckpointBytes = (long)options.CheckpointMib << 20,
            Unchanged = unchanged,
            Digest = digest,
        }, counters);

    internal static Task SendOnceAsync(BlockSender sender, MigrateOptions options, OpenSessionReply session, IReadOnlyList<DiskSource> sources,
        DurablePositions? positions, CancellationToken ct)
    {
        var credentials = new SessionCredentials(session.SessionId.ToByteArray(), DataHandshake.Key(options.Token));
        return sender.SendAsync(sources, c => DataChannelClient.OpenAsync(d => DataConnector.ConnectAsync(options, d), credentials, c, positions: positions),
            ct, positions);
    }

    /// <summary>
    /// Compares every planned chunk with what the receiver reads back: against the hash taken when it
    /// was sent, or, for chunks an earlier (resumed) run sent, a hash of the source read now.
    /// </summary>
    private static async Task VerifyAsync(ReceiverClient receiver, Google.Protobuf.ByteString sessionId,
        IReadOnlyDictionary<uint, List<SentRange>> sent, IReadOnlyList<DiskSource> sources, CancellationToken ct)
    {
        foreach (var source in sources)
        {
            var hashes = new Dictionary<long, SentRange>();
            foreach (var r in sent.GetValueOrDefault(source.Index) ?? [])
            {
                hashes[r.Offset] = r;
            }
            var ranges = Chunking.Split(source.Ranges, BlockSendOptions.DefaultChunkBytes)
                .Select(r => hashes.TryGetValue(r.Offset, out var h) && h.Length == r.Length ? h : HashSource(source, r)).ToList();
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

    /// <summary>Per disk, the ranges frames carried (in any order, possibly overlapping).</summary>
    private static Dictionary<uint, List<ByteRange>> SentRanges(IReadOnlyDictionary<uint, List<SentRange>> sent) =>
        sent.ToDictionary(kv => kv.Key, kv => kv.Value.Select(r => new ByteRange(r.Offset, r.Length)).ToList());

    /// <summary>
    /// Incremental: the receiver reads back every region this cycle wrote and compares it with its
    /// digest, which holds the hash of what was sent there (or, where a later pass found it unchanged,
    /// of the source as that pass read it).
    /// </summary>
    private static async Task VerifyAgainstDigestAsync(ReceiverClient receiver, Google.Protobuf.ByteString sessionId, Dictionary<uint, List<ByteRange>> written,
        IReadOnlyList<DiskSource> sources, CancellationToken ct)
    {
        foreach (var source in sources)
        {
            var merged = new RangeList();
            merged.AddRange(written.GetValueOrDefault(source.Index) ?? []);
            var ranges = Chunking.Split(merged.ToMerged(source.SizeBytes), BlockSendOptions.DefaultChunkBytes).ToList();
            for (var i = 0; i < ranges.Count; i += VerifyBatch)
            {
                var request = new VerifyRequest { SessionId = sessionId, Disk = source.Index, AgainstDigest = true };
                request.Ranges.AddRange(ranges.Skip(i).Take(VerifyBatch).Select(r => new RangeHash { Offset = (ulong)r.Offset, Length = (uint)r.Length }));
                var reply = await receiver.VerifyAsync(request, ct);
                if (reply.Mismatched.Count > 0)
                {
                    throw new FerryException(ErrorCode.VerifyMismatch,
                        $"verification failed: {reply.Mismatched.Count} range(s) of disk {source.Name} differ on the receiver, the first at offset {reply.Mismatched[0].Offset}",
                        "The receiver's storage returned other data than was written; check its disk, then run the cycle again (it sends those ranges again).");
                }
            }
        }
    }

    /// <summary>Incremental: the number of the cycle this run was (0 otherwise).</summary>
    public int Cycle { get; private set; }

    private static SentRange HashSource(DiskSource source, ByteRange range)
    {
        using var buffer = AlignedBuffer.Rent((int)range.Length);
        var data = buffer.Span[..(int)range.Length];
        source.Reader.ReadExactly(data, range.Offset);
        return new SentRange(range.Offset, (int)range.Length, System.IO.Hashing.XxHash3.HashToUInt64(data));
    }
}
