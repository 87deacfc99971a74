using System.CommandLine;
using Ferry.Agent.Inventory;
using Ferry.Agent.Migration;
using Ferry.Transfer.Control;

namespace Ferry.Agent.Commands;

/// <summary>
/// <c>agent migrate --receiver HOST --token TOKEN --disk /dev/X ...</c>: client-only block migration;
/// <c>agent migrate --mode file --layout LAYOUT.json ...</c>: client-only file replication into a new layout.
/// </summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var receiver = new Option<string>("--receiver") { Description = "Receiver host name or address.", Required = true };
        var controlPort = new Option<int>("--control-port") { Description = "Receiver control port (gRPC).", DefaultValueFactory = _ => 8080 };
        var dataPort = new Option<int>("--data-port") { Description = "Receiver data port.", DefaultValueFactory = _ => 8703 };
        var token = new Option<string?>("--token") { Description = "The receiver's session token (or set FERRY_TOKEN)." };
        var disks = new Option<string[]>("--disk") { Description = "Block mode: a whole disk to migrate; repeat for more.", AllowMultipleArgumentsPerToken = false };
        var mode = new Option<string>("--mode") { Description = "block (whole disks, --disk) or file (file trees into --layout).", DefaultValueFactory = _ => "block" };
        mode.AcceptOnlyFromAmong("block", "file");
        var layout = new Option<string?>("--layout") { Description = "File mode: the target layout document (see the README)." };
        var sourceRoot = new Option<string>("--source-root") { Description = "File mode: where the source's / is mounted on this machine.", DefaultValueFactory = _ => "/" };
        var excludes = new Option<string[]>("--exclude") { Description = "File mode: a path pattern to leave out (rsync syntax); repeat for more.", AllowMultipleArgumentsPerToken = false };
        var compress = new Option<int>("--compress") { Description = "Compression 0-10 (0 off; 1-7 LZ4 fast; 8-10 LZ4-HC).", DefaultValueFactory = _ => 7 };
        var bandwidth = new Option<double>("--bandwidth") { Description = "Wire limit in Mbit/s (0: none)." };
        var checksum = new Option<bool>("--checksum") { Description = "Verify every range end to end after the receiver flushed it." };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Print progress as JSON lines." };
        var streams = new Option<int>("--streams") { Description = "Parallel data connections.", DefaultValueFactory = _ => 2 };
        var sourceName = new Option<string?>("--source-name") { Description = "Name of this source on the receiver (default: host name)." };
        var format = new Option<string>("--format") { Description = "Image format on the receiver: raw, qcow2, vmdk, vhdx.", DefaultValueFactory = _ => Transfer.ImageFormat.Default };
        var verbose = new Option<bool>("--verbose") { Description = "Log details to the console." };
        var fingerprint = new Option<string?>("--receiver-fingerprint") { Description = "SHA-256 of the receiver's certificate, as `ferry receiver` prints it (or set FERRY_RECEIVER_FINGERPRINT)." };
        var reconnectFor = new Option<int>("--reconnect-for")
        {
            Description = "Seconds to keep reconnecting to a lost receiver without progress before failing (the breakpoint is kept either way).",
            DefaultValueFactory = _ => 3600,
        };
        var checkpointMib = new Option<int>("--checkpoint-mib")
        {
            Description = "MiB each data connection sends between durable checkpoints (1-1024): at most what an interruption sends again.",
            DefaultValueFactory = _ => 16,
        };
        var noFreeze = new Option<bool>("--no-freeze") { Description = "Block mode: copy filesystems mounted read-write live, without the frozen last pass (the copy may be inconsistent)." };
        var freezeBound = new Option<double>("--freeze-bound")
        {
            Description = "Block mode: the longest, in seconds, that filesystems stay frozen for the last pass (default 30).",
            DefaultValueFactory = _ => 30,
        };
        var frozenHook = new Option<string?>("--frozen-hook") { Description = "Block mode: a shell command to run while the filesystems are frozen, after the last pass." };
        var incremental = new Option<bool>("--incremental")
        {
            Description = "An incremental job: a full copy, then every --every a cycle that sends only what changed; the receiver keeps the last --keep images.",
        };
        var every = new Option<string>("--every") { Description = "Incremental: time from one cycle's start to the next (90s, 30m, 1h, 1d).", DefaultValueFactory = _ => "1h" };
        var keep = new Option<int>("--keep") { Description = "Incremental: how many cycles' images the receiver keeps (1-100).", DefaultValueFactory = _ => 3 };
        var cycles = new Option<int>("--cycles") { Description = "Incremental: stop after this many cycles (0: run until stopped)." };
        var cutover = new Option<bool>("--cutover") { Description = "Incremental: the last of --cycles (1 if not given) is the cut-over, which ends the job on the receiver." };
        var tls = new Option<string>("--tls") { Description = "Data channel encryption: auto (TLS unless the receiver is this machine), on, off.", DefaultValueFactory = _ => "auto" };

        var command = new Command("migrate", "Copy disks block by block, or file trees into a new layout, to a receiver (client-only mode).")
        {
            receiver, controlPort, dataPort, token, disks, mode, layout, sourceRoot, excludes, compress, bandwidth, checksum, jsonProgress, streams,
            sourceName, format, verbose, fingerprint, tls, reconnectFor, checkpointMib, noFreeze, freezeBound, frozenHook, incremental, every, keep, cycles, cutover,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new MigrateOptions
            {
                Receiver = parse.GetValue(receiver)!,
                ControlPort = parse.GetValue(controlPort),
                DataPort = parse.GetValue(dataPort),
                Token = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("FERRY_TOKEN")
                    ?? throw new Transfer.Errors.FerryException(Transfer.Errors.ErrorCode.Usage, "no token given", "Pass --token or set FERRY_TOKEN."),
                ReceiverPin = CertificatePin.TryParse(parse.GetValue(fingerprint) ?? Environment.GetEnvironmentVariable("FERRY_RECEIVER_FINGERPRINT"))
                    ?? throw new Transfer.Errors.FerryException(Transfer.Errors.ErrorCode.Usage, "no valid receiver fingerprint given (64 hex digits)",
                        "Pass --receiver-fingerprint with the SHA-256 that `ferry receiver` prints at start, or set FERRY_RECEIVER_FINGERPRINT."),
                Tls = TransportSecurityText.TryParse(parse.GetValue(tls), out var security)
                    ? security
                    : throw new Transfer.Errors.FerryException(Transfer.Errors.ErrorCode.Usage, $"--tls {parse.GetValue(tls)}: expected auto, on or off"),
                Disks = parse.GetValue(disks) ?? [],
                Mode = parse.GetValue(mode)!,
                Layout = parse.GetValue(layout) is { } path ? LayoutDocument.Load(path) : null,
                SourceRoot = parse.GetValue(sourceRoot)!,
                Excludes = parse.GetValue(excludes) ?? [],
                Compression = parse.GetValue(compress),
                BandwidthMbit = parse.GetValue(bandwidth),
                Checksum = parse.GetValue(checksum),
                JsonProgress = parse.GetValue(jsonProgress),
                Streams = parse.GetValue(streams),
                SourceName = parse.GetValue(sourceName),
                ImageFormat = parse.GetValue(format)!,
                CheckpointMib = parse.GetValue(checkpointMib),
                Freeze = !parse.GetValue(noFreeze),
                FreezeBound = TimeSpan.FromSeconds(parse.GetValue(freezeBound)),
                FrozenHook = parse.GetValue(frozenHook),
                ReconnectFor = TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(reconnectFor))),
                Incremental = parse.GetValue(incremental),
                Every = Transfer.DurationText.TryParse(parse.GetValue(every), out var interval) && interval > TimeSpan.Zero
                    ? interval
                    : throw new Transfer.Errors.FerryException(Transfer.Errors.ErrorCode.Usage, $"--every {parse.GetValue(every)}: expected a duration such as 90s, 30m, 1h or 1d"),
                Keep = parse.GetValue(keep),
                Cycles = parse.GetValue(cutover) && parse.GetValue(cycles) == 0 ? 1 : parse.GetValue(cycles),
                Cutover = parse.GetValue(cutover),
            };
            using var log = AgentLog.Create(parse.GetValue(verbose));
            var result = options.Incremental
                ? await new IncrementalMigration(options, log, Console.Out).RunAsync(ct)
                : options.Mode == "file"
                    ? await new FileMigration(options, log, Console.Out).RunAsync(ct)
                    : await new BlockMigration(options, log, Console.Out).RunAsync(ct);
            log.Information("Migration finished: {SourceBytes} source bytes, {WireBytes} wire bytes in {Seconds} s", result.SourceBytes, result.WireBytes,
                result.Elapsed.TotalSeconds);
            Console.Error.WriteLine($"Sent {InventoryText.Size(result.SourceBytes)} of {InventoryText.Size(result.DiskBytes)} disk space " +
                $"as {InventoryText.Size(result.WireBytes)} on the wire in {result.Elapsed.TotalSeconds:0.0} s" +
                (result.SyncElapsed is { } synced ? $" (the receiver held it all after {synced.TotalSeconds:0.0} s, then stored the images)." : "."));
            if (result.FrozenFor is { } frozen)
            {
                Console.Error.WriteLine($"Filesystems frozen for the last pass: {frozen.TotalSeconds:0.000} s (bound {options.FreezeBound.TotalSeconds:0.#} s).");
            }
            if (result.ResumedFromBytes > 0)
            {
                Console.Error.WriteLine($"Resumed from the breakpoint: {result.ResumedFromBytes} bytes were already on the receiver.");
            }
            if (result.Reconnects > 0 || result.RepeatedBytes > 0)
            {
                Console.Error.WriteLine($"Reconnected {result.Reconnects} time(s); {result.RepeatedBytes} bytes in flight at the interruptions were sent again.");
            }
            if (result.ResentFrames > 0)
            {
                Console.Error.WriteLine($"{result.ResentFrames} frame(s) arrived damaged at the receiver, were refused and sent again.");
            }
            foreach (var image in result.Images)
            {
                Console.Error.WriteLine("Image: " + image);
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
