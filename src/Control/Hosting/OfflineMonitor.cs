using Microsoft.Extensions.Hosting;

namespace Ferry.Control.Hosting;

/// <summary>Marks sources Offline after three missed heartbeats.</summary>
public sealed class OfflineMonitor(ControlPlane plane, TimeProvider clock) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = plane.HeartbeatInterval / 3;
        using var timer = new PeriodicTimer(period < TimeSpan.FromMilliseconds(200) ? TimeSpan.FromMilliseconds(200) : period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                plane.Store.MarkOffline(clock.GetUtcNow() - (3 * plane.HeartbeatInterval));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
