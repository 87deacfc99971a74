using Microsoft.Extensions.Hosting;

namespace Ferry.Control.Hosting;

/// <summary>Starts the next cycle of each incremental job that is Waiting once its time has come.</summary>
public sealed class CycleScheduler(ControlPlane plane, TimeProvider clock) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                plane.StartDueCycles();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
