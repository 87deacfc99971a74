using System.Diagnostics;
using Ferry.Agent.Commands;
using Ferry.Disks;
using Ferry.Disks.Interop;
using Ferry.Disks.Planning;
using Ferry.Snapshot;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Protocol;
using Serilog;

namespace Ferry.Agent.Migration;

/// <summary>
/// Makes a block copy of filesystems mounted read-write consistent without a kernel driver. After the
/// first, live copy, passes send only the chunks whose bytes differ from what was sent last (XXH3 of
/// each chunk of a fresh plan of used blocks) until a pass is small. Then the filesystems are frozen
/// (FIFREEZE: writers block, everything is on the device), the last pass runs, and they are thawed.
/// The freeze is bounded: a last pass that would take longer is abandoned, the filesystems thawed, and
/// after another live pass the freeze is tried again (three times at most). A watchdog process thaws
/// them should the agent die meanwhile, and nothing is written to the log file while they are frozen.
/// The result equals the source as it was during the freeze.
/// </summary>
/// <param name="digestOf">Incremental: the receiver whose digest says what it holds (it is updated as it writes); null: what the passes sent says it.</param>
internal sealed class ConvergentCopy(MigrateOptions options, ILogger log, TransferProgress counters, TransferControl? control, ReceiverClient? digestOf)
{
    private const int MaxLivePasses = 5;
    private const int MaxFreezes = 3;

    /// <summary>The latest hash sent per disk and chunk offset: what the receiver holds.</summary>
    private readonly Dictionary<(uint Disk, long Offset), SentRange> _held = [];

    /// <summary>Everything the passes after the first sent, per disk (the same range may come more than once).</summary>
    public Dictionary<uint, List<SentRange>> SentEver { get; } = [];

    /// <summary>What the receiver holds, per disk, for end-to-end verification.</summary>
    public Dictionary<uint, List<SentRange>> Held => _held.GroupBy(kv => kv.Key.Disk).ToDictionary(g => g.Key, g => g.Select(kv => kv.Value).ToList());

    /// <returns>The disks as planned during the freeze (what the receiver now holds).</returns>
    public async Task<List<DiskSource>> RunAsync(IReadOnlyDictionary<uint, List<SentRange>> firstPass, OpenSessionReply session,
        IReadOnlyList<(BlockDevice Device, DiskSource Source)> disks, IReadOnlyList<string> mountPoints, CancellationToken ct)
    {
        Remember(firstPass);
        var small = Math.Max(64L << 20, disks.Sum(d => d.Source.PlannedBytes) / 100);
        for (var pass = 2; pass <= MaxLivePasses + 1; pass++)
        {
            var (changed, _) = await PassAsync(session, disks, ct);
            log.Information("Pass {Pass} (live): {ChangedBytes} bytes had changed since the pass before", pass, changed);
            if (changed <= small)
            {
                break;
            }
        }
        for (var attempt = 1; ; attempt++)
        {
            if (await FrozenPassAsync(session, disks, mountPoints, ct) is { } final)
            {
                return final;
            }
            if (attempt == MaxFreezes)
            {
                throw new SnapshotException($"the last pass did not fit in the {options.FreezeBound.TotalSeconds:0.#} s freeze bound {MaxFreezes} times",
                    "Raise --freeze-bound, or stop the busiest writers during the copy.");
            }
            log.Warning("The last pass did not fit in the {Bound} s freeze bound: the filesystems were thawed; sending what changed meanwhile, then freezing again",
                options.FreezeBound.TotalSeconds);
            await PassAsync(session, disks, ct);
        }
    }

    /// <summary>Freezes, runs the last pass (and the hook) within the bound, thaws. Null when the bound passed first.</summary>
    private async Task<List<DiskSource>?> FrozenPassAsync(OpenSessionReply session, IReadOnlyList<(BlockDevice Device, DiskSource Source)> disks,
        IReadOnlyList<string> mountPoints, CancellationToken ct)
    {
        using var filesystems = FrozenFilesystems.Open(mountPoints);
        using var watchdog = await ThawWatchdogProcess.StartAsync(ThawWatchdogCommand.CommandLine(options.FreezeBound, mountPoints), ct);
        List<DiskSource>? final = null;
        long changed = 0;
        TimeSpan frozenFor;
        using (HeldSink.File?.Hold())
        {
            var clock = Stopwatch.StartNew();
            filesystems.Freeze();
            counters.Phase = "frozen";
            try
            {
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
                bound.CancelAfter(options.FreezeBound);
                try
                {
                    (changed, final) = await PassAsync(session, disks, bound.Token);
                    if (options.FrozenHook is { } hook)
                    {
                        await RunHookAsync(hook, bound.Token);
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    final = null;
                }
            }
            finally
            {
                filesystems.Thaw();
                frozenFor = clock.Elapsed;
                counters.Phase = "converging";
            }
        }
        if (await watchdog.ReleaseAsync() is { } said)
        {
            log.Warning("The thaw watchdog had to act: {Said}", said);
        }
        if (final is not null)
        {
            log.Information("Froze {MountPoints} for {Seconds:0.000} s (bound {Bound} s): the last pass sent {ChangedBytes} bytes",
                string.Join(", ", mountPoints), frozenFor.TotalSeconds, options.FreezeBound.TotalSeconds, changed);
            LastFreeze = frozenFor;
        }
        return final;
    }

    /// <summary>How long the filesystems were frozen for the pass that counted.</summary>
    public TimeSpan LastFreeze { get; private set; }

    /// <summary>Source bytes the passes after the first sent.</summary>
    public long SentBytes { get; private set; }

    /// <summary>
    /// Plans each disk again (its page cache dropped: the filesystem wrote its data around it) and sends
    /// the chunks whose hash differs from what the receiver holds. Returns the bytes sent and the plan.
    /// </summary>
    private async Task<(long Changed, List<DiskSource> Sources)> PassAsync(OpenSessionReply session, IReadOnlyList<(BlockDevice Device, DiskSource Source)> disks,
        CancellationToken ct)
    {
        var frozen = counters.Phase == "frozen";
        var sources = new List<DiskSource>();
        foreach (var (device, source) in disks)
        {
            Posix.DropCache(device.Handle);
            try
            {
                sources.Add(source with { Ranges = BlockMigration.Ranges(BlockPlanner.Plan(device), device, options) });
            }
            catch (DiskException e) when (!frozen && e.Error == DiskError.Corrupt)
            {
                // A filesystem's allocation maps read while it is being written can be torn; the frozen pass plans it again.
                log.Debug("Planning {Disk} live failed ({Message}); this pass uses the first plan", source.Name, e.Message);
                sources.Add(source);
            }
        }
        counters.StartPass(sources.Sum(s => s.PlannedBytes));
        ReceiverDigest? digest = null;
        if (digestOf is not null)
        {
            digest = new ReceiverDigest(digestOf, ct);
            digest.Begin(session.SessionId);
        }
        var sender = digest is not null
            ? BlockMigration.NewSender(options, control, counters, digest: digest)
            : BlockMigration.NewSender(options, control, counters, (disk, offset, length, hash) =>
                _held.TryGetValue((disk, offset), out var held) && held.Length == length && held.Xxh3 == hash);
        try
        {
            await BlockMigration.SendOnceAsync(sender, options, session, sources, positions: null, ct);
        }
        catch (OperationCanceledException)
        {
            // Abandoned part-way: what it may have written is unknown, so those chunks are sent again next time.
            foreach (var (disk, list) in sender.Sent)
            {
                foreach (var r in list)
                {
                    _held.Remove((disk, r.Offset));
                }
            }
            throw;
        }
        Remember(sender.Sent);
        foreach (var (disk, list) in sender.Sent)
        {
            SentEver.TryAdd(disk, []);
            SentEver[disk].AddRange(list);
        }
        var changed = sender.Sent.Values.Sum(l => l.Sum(r => (long)r.Length));
        SentBytes += changed;
        return (changed, sources);
    }

    private void Remember(IReadOnlyDictionary<uint, List<SentRange>> sent)
    {
        foreach (var (disk, list) in sent)
        {
            foreach (var r in list)
            {
                _held[(disk, r.Offset)] = r;
            }
        }
    }

    private static async Task RunHookAsync(string hook, CancellationToken ct)
    {
        var result = await ChildProcess.RunAsync("/bin/sh", ["-c", hook], ct);
        if (result.ExitCode != 0)
        {
            throw new SnapshotException($"the frozen hook ({hook}) failed with exit code {result.ExitCode}: {result.Stderr.Trim()}");
        }
    }
}
