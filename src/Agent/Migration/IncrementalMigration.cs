using Ferry.Agent.Inventory;
using Serilog;

namespace Ferry.Agent.Migration;

/// <summary>
/// A client-only incremental job: a cycle now (block mode: the first a full copy, later ones only the
/// regions that differ from the receiver's digest; file mode: a sync into the receiver's working copy,
/// which sends only the files that differ, as deltas), then one every <see cref="MigrateOptions.Every"/> from the
/// start of the one before, until <see cref="MigrateOptions.Cycles"/> cycles ran or the user stops it
/// (the kept images and the receiver's working images stay for the next run). With
/// <see cref="MigrateOptions.Cutover"/>, the last cycle is the cut-over: the receiver then drops its
/// working images and the job is over.
/// </summary>
internal sealed class IncrementalMigration(MigrateOptions options, ILogger log, TextWriter console)
{
    public async Task<MigrationResult> RunAsync(CancellationToken ct)
    {
        for (var run = 1; ; run++)
        {
            var last = options.Cycles > 0 && run == options.Cycles;
            var final = last && options.Cutover;
            var started = DateTimeOffset.UtcNow;
            var cycle = options with { FinalCycle = final };
            var result = options.Mode == "file"
                ? await new FileMigration(cycle, log, console).RunAsync(ct)
                : await new BlockMigration(cycle, log, console).RunAsync(ct);
            if (options.JsonProgress)
            {
                console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new CycleLine("cycle", result.Cycle, result.SourceBytes, result.WireBytes,
                    result.SyncElapsed?.TotalSeconds ?? 0, result.Elapsed.TotalSeconds, final, result.Images), AgentJsonContext.Default.CycleLine));
            }
            else
            {
                console.WriteLine($"Cycle {result.Cycle}{(final ? " (cut-over)" : "")}: sent {result.SourceBytes} bytes that differed from the receiver's copy " +
                    $"({InventoryText.Size(result.SourceBytes)}) as {result.WireBytes} wire bytes in {result.Elapsed.TotalSeconds:0.000} s " +
                    $"(synced in {result.SyncElapsed?.TotalSeconds ?? 0:0.000} s, then the image stored); image: {string.Join(", ", result.Images)}");
            }
            if (last)
            {
                return result;
            }
            var next = started + options.Every;
            var wait = next - DateTimeOffset.UtcNow;
            log.Information("Waiting until {Next:u} for cycle {Cycle}", next, result.Cycle + 1);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }
        }
    }
}
