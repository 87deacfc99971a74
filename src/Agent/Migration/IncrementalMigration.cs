using Ferry.Agent.Inventory;
using Serilog;

namespace Ferry.Agent.Migration;

/// <summary>
/// A client-only incremental block job: a cycle now (the receiver makes the first a full copy and
/// later ones send only changed regions), then one every <see cref="MigrateOptions.Every"/> from the
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
            var result = await new BlockMigration(options with { FinalCycle = final }, log, console).RunAsync(ct);
            console.WriteLine($"Cycle {result.Cycle}{(final ? " (cut-over)" : "")}: sent {result.SourceBytes} bytes that differed from the receiver's copy " +
                $"({InventoryText.Size(result.SourceBytes)}) as {result.WireBytes} wire bytes in {result.Elapsed.TotalSeconds:0.000} s " +
                $"(synced in {result.SyncElapsed?.TotalSeconds ?? 0:0.000} s, then the image stored); image: {string.Join(", ", result.Images)}");
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
