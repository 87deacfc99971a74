using System.Diagnostics;

namespace Ferry.Snapshot;

/// <summary>
/// The agent's handle on its <see cref="ThawWatchdog"/>: started (and ready) before anything is frozen,
/// told <c>thawed</c> once the agent thawed. Should the agent die in between, the pipe to the watchdog
/// closes and the watchdog thaws.
/// </summary>
public sealed class ThawWatchdogProcess : IDisposable
{
    private readonly Process _process;

    private ThawWatchdogProcess(Process process) => _process = process;

    /// <param name="command">The program and the arguments that run <see cref="ThawWatchdog.RunAsync"/> (the agent itself).</param>
    public static async Task<ThawWatchdogProcess> StartAsync(IReadOnlyList<string> command, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        foreach (var a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi) ?? throw new SnapshotException("the thaw watchdog could not be started");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != ThawWatchdog.Ready)
        {
            process.Kill();
            process.Dispose();
            throw new SnapshotException($"the thaw watchdog did not start ({line ?? "no answer"}); nothing was frozen");
        }
        return new ThawWatchdogProcess(process);
    }

    /// <summary>The agent thawed: the watchdog may go. Returns what the watchdog said if it had to thaw itself (its bound passed first).</summary>
    public async Task<string?> ReleaseAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync(ThawWatchdog.Thawed);
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It already ended (its bound passed and it thawed).
        }
        var said = await _process.StandardOutput.ReadToEndAsync();
        await _process.WaitForExitAsync();
        return _process.ExitCode == 0 ? null : said.Trim();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            // Closing its input makes it thaw whatever is still frozen and end.
            _process.StandardInput.Close();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
