using System.Runtime.InteropServices;
using Ferry.Disks.Interop;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Serilog;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// The background agent (`agent run`): detached from the terminal, it sends heartbeats, holds the
/// job stream open (reconnecting with backoff) and runs what arrives on it, until SIGTERM.
/// </summary>
public sealed class Daemon(AgentHome home, ILogger log)
{
    public async Task<int> RunAsync(CancellationToken ct)
    {
        Posix.DetachFromTerminal();
        var data = home.Load() ?? throw new FerryException(ErrorCode.Usage, "this agent is not registered", "Run ./agent first to import the source.");
        home.WritePid();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        log.Information("Background agent started for source {SourceId} (control plane {Server})", data.SourceId, data.Server);
        try
        {
            using var control = new ControlClient(data.Server, data.AgentPort, CertificatePin.TryParse(data.ServerFingerprint)
                ?? throw new FerryException(ErrorCode.Usage, "this registration has no control plane certificate fingerprint", "Import the source again with the activation command."));
            control.UseAgentToken(data.AgentToken);
            await using var runner = new JobRunner(data, control, log);
            await Task.WhenAll(HeartbeatLoopAsync(control, data, stop.Token), WatchLoopAsync(control, runner, stop.Token));
        }
        finally
        {
            if (home.RunningPid() is null)
            {
                File.Delete(home.PidPath);
            }
            log.Information("Background agent stopped");
        }
        return ExitCodes.Ok;
    }

    private async Task HeartbeatLoopAsync(ControlClient control, ClientData data, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(data.HeartbeatSeconds));
        do
        {
            try
            {
                await control.HeartbeatAsync(new HeartbeatRequest
                {
                    CpuPercent = CpuPercent(),
                    MemoryUsedBytes = MemoryUsed(),
                    AgentVersion = typeof(Daemon).Assembly.GetName().Version?.ToString() ?? "0",
                }, ct);
            }
            catch (FerryException e)
            {
                log.Warning("Heartbeat failed ({Code}): {Message}", ErrorCodes.Name(e.Code), e.Message);
            }
        }
        while (await WaitTick(timer, ct));
    }

    private async Task WatchLoopAsync(ControlClient control, JobRunner runner, CancellationToken ct)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var job in control.WatchJobsAsync(ct))
                {
                    delay = TimeSpan.FromSeconds(1);
                    runner.Apply(job);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (FerryException e)
            {
                log.Warning("Job stream lost ({Code}): {Message}; reconnecting in {Seconds} s", ErrorCodes.Name(e.Code), e.Message, delay.TotalSeconds);
            }
            try
            {
                await Task.Delay(delay, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
        }
    }

    private static async Task<bool> WaitTick(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The source's memory in use (MemTotal - MemAvailable from /proc/meminfo).</summary>
    private static ulong MemoryUsed()
    {
        var values = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => ulong.TryParse(p[1].Trim().Split(' ')[0], out var kb) ? kb * 1024 : 0)
            : [];
        return values.GetValueOrDefault("MemTotal") > values.GetValueOrDefault("MemAvailable")
            ? values["MemTotal"] - values["MemAvailable"]
            : 0;
    }

    /// <summary>System-wide CPU use since boot from /proc/stat (a rough figure for the console).</summary>
    private static double CpuPercent()
    {
        var line = File.Exists("/proc/stat") ? File.ReadLines("/proc/stat").FirstOrDefault() : null;
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => double.TryParse(f, out var v) ? v : 0).ToArray();
        if (fields is null || fields.Length < 4 || fields.Sum() == 0)
        {
            return 0;
        }
        return 100.0 * (1 - (fields[3] / fields.Sum()));
    }
}
