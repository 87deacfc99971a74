using System.Diagnostics;
using System.Text.Json;
using Ferry.Agent.Inventory;
using Ferry.Transfer.Blocks;

namespace Ferry.Agent.Migration;

/// <summary>
/// Shows a transfer's progress once a second: a line rewritten in place on a terminal, or JSON
/// lines (phase, disk, done/total/wire bytes, speed before and after compression, ETA). When the
/// output is not a terminal, plain lines are printed every ten seconds instead of rewritten in place.
/// </summary>
public sealed class ProgressReporter(TransferProgress progress, bool json, bool interactive, TextWriter output) : IAsyncDisposable
{
    private const int PlainLineEveryTicks = 10;
    private int _ticks;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _lastDone;
    private long _lastWire;
    private long _lastTicks = Stopwatch.GetTimestamp();

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (json || interactive || ++_ticks % PlainLineEveryTicks == 0)
                {
                    Report(final: false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Prints the current state now (also used for the final line).</summary>
    public void Report(bool final)
    {
        var now = Stopwatch.GetTimestamp();
        var seconds = Math.Max(1e-3, (double)(now - _lastTicks) / Stopwatch.Frequency);
        var done = progress.DoneBytes;
        var wire = progress.WireBytes;
        var speed = (long)((done - _lastDone) / seconds);
        var wireSpeed = (long)((wire - _lastWire) / seconds);
        (_lastDone, _lastWire, _lastTicks) = (done, wire, now);
        var total = progress.TotalBytes;
        long? eta = speed > 0 ? Math.Max(0, (total - done) / speed) : null;
        var line = new ProgressLine(progress.Phase, progress.CurrentDisk, done, total, wire, speed, wireSpeed, final ? 0 : eta);
        lock (output)
        {
            if (json)
            {
                output.WriteLine(JsonSerializer.Serialize(line, AgentJsonContext.Default.ProgressLine));
            }
            else
            {
                var pct = total > 0 ? 100.0 * done / total : 100;
                output.Write($"{(interactive ? "\r" : "")}{line.Phase,-9} {line.Disk,-8} {pct,5:0.0}%  {InventoryText.Size(done)} of {InventoryText.Size(total)}  " +
                    $"{InventoryText.Size(speed)}/s source, {InventoryText.Size(wireSpeed)}/s wire  " +
                    $"ETA {(eta is { } e ? TimeSpan.FromSeconds(e).ToString("hh\\:mm\\:ss", System.Globalization.CultureInfo.InvariantCulture) : "--:--:--")}   ");
                if (final || !interactive)
                {
                    output.WriteLine();
                }
            }
            output.Flush();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        _stop.Dispose();
    }
}
