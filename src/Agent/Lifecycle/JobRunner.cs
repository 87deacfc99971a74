using Ferry.Agent.Migration;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Serilog;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// Runs the job the control plane assigns: starts the block migration when the job is Running,
/// pauses and resumes it, applies modified settings to the running transfer, cancels it, and
/// reports progress every second and the outcome at the end.
/// </summary>
public sealed class JobRunner(ClientData data, ControlClient control, ILogger log) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private Run? _current;

    public void Apply(JobAssignment job)
    {
        lock (_lock)
        {
            if (_current is { } run && run.JobId == job.JobId && !run.Task.IsCompleted)
            {
                Configure(run.Control, job);
                switch (job.State)
                {
                    case "Running":
                        run.Control.Resume();
                        break;
                    case "Stopped":
                        run.Control.Pause();
                        break;
                    case "Deleting" or "Finished" or "InError" or "Expired":
                        run.Cancel.Cancel();
                        break;
                }
                log.Information("Job {JobId} is now {State}", job.JobId, job.State);
                return;
            }
            if (job.State is "Running" or "Stopped" && job.ReceiverToken.Length > 0)
            {
                var controlSettings = new TransferControl();
                Configure(controlSettings, job);
                if (job.State == "Stopped")
                {
                    controlSettings.Pause();
                }
                var cancel = new CancellationTokenSource();
                _current = new Run(job.JobId, controlSettings, cancel, Task.Run(() => ExecuteAsync(job, controlSettings, cancel.Token)));
            }
        }
    }

    private static void Configure(TransferControl control, JobAssignment job)
    {
        control.CompressionLevel = (int)Math.Min(10, job.Compression);
        control.SetBandwidth(job.BandwidthMbit);
        control.Checksum = job.Checksum;
    }

    private async Task ExecuteAsync(JobAssignment job, TransferControl settings, CancellationToken ct)
    {
        var progress = new TransferProgress();
        var receiverHost = job.ReceiverHost.Length > 0 ? job.ReceiverHost : new Uri(data.Server).Host;
        var options = new MigrateOptions
        {
            Receiver = receiverHost,
            ControlPort = (int)job.ReceiverControlPort,
            DataPort = (int)job.ReceiverDataPort,
            Token = job.ReceiverToken,
            ReceiverPin = CertificatePin.TryParse(job.ReceiverFingerprint)
                ?? throw new FerryException(ErrorCode.Protocol, "the job carries no valid receiver certificate fingerprint", "Upgrade the control plane to this agent's version."),
            Tls = TransportSecurityText.TryParse(job.Tls, out var security) ? security : TransportSecurity.On,
            Disks = [.. job.Disks],
            Compression = (int)job.Compression,
            BandwidthMbit = job.BandwidthMbit,
            Checksum = job.Checksum,
            SourceName = data.SourceId,
            ImageFormat = job.ImageFormat.Length > 0 ? job.ImageFormat : Transfer.ImageFormat.Default,
            Mode = job.Mode == "file" ? "file" : "block",
            Incremental = job.Incremental,
            Keep = (int)Math.Clamp(job.Keep, 1, 100),
            FinalCycle = job.FinalCycle,
        };
        log.Information("Job {JobId}: {Mode} replication of {Disks} to {Receiver}", job.JobId, options.Mode,
            options.Mode == "file" ? "the layout's mount points" : string.Join(", ", job.Disks), receiverHost);
        using var reporting = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reporter = Task.Run(() => ReportLoopAsync(job.JobId, progress, reporting.Token), CancellationToken.None);
        var report = new JobReport { JobId = job.JobId };
        try
        {
            var result = options.Mode == "file"
                ? await new FileMigration(options with { Layout = LayoutDocument.Parse(job.LayoutJson, "of job " + job.JobId) }, log, console: null, settings, progress).RunAsync(ct)
                : await new BlockMigration(options, log, console: null, settings, progress).RunAsync(ct);
            // A cycle of an incremental job that is not the cut-over leaves the job waiting for the next.
            report.Outcome = options.Incremental && !options.FinalCycle ? "cycle" : "finished";
            report.Cycle = (uint)result.Cycle;
            report.Images.AddRange(result.Images);
            log.Information("Job {JobId} {Outcome} (cycle {Cycle}): {SourceBytes} bytes sent as {WireBytes}", job.JobId, report.Outcome, result.Cycle,
                result.SourceBytes, result.WireBytes);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            report.Outcome = "cancelled";
            log.Information("Job {JobId} cancelled; the receiver dropped its unfinished images", job.JobId);
        }
        catch (Exception e)
        {
            // Every other failure too: a job must never stay Running because its runner died unseen.
            var failure = ExitCodes.ToFerry(e);
            report.Outcome = "failed";
            report.ErrorCode = ErrorCodes.Name(failure.Code);
            report.ErrorMessage = failure.Message + (failure.Hint is null ? "" : " " + failure.Hint);
            log.Error("Job {JobId} failed ({Code}): {Message}", job.JobId, report.ErrorCode, failure.Message);
        }
        await reporting.CancelAsync();
        await reporter;
        Fill(report, progress);
        lock (_lock)
        {
            // This run is over: the control plane's answer to the report (the next cycle of an incremental job) starts a new one.
            if (_current?.Control == settings)
            {
                _current = null;
            }
        }
        await ReportWithRetryAsync(report);
    }

    private async Task ReportLoopAsync(string jobId, TransferProgress progress, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        long lastDone = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var report = new JobReport { JobId = jobId, Outcome = "running" };
                Fill(report, progress);
                var done = progress.DoneBytes;
                report.SpeedBps = (ulong)Math.Max(0, done - lastDone);
                report.EtaS = report.SpeedBps > 0 ? (long)((report.TotalBytes - report.DoneBytes) / report.SpeedBps) : -1;
                lastDone = done;
                try
                {
                    await control.ReportAsync(report, ct);
                }
                catch (FerryException e)
                {
                    log.Warning("Progress report failed ({Code}); will retry", ErrorCodes.Name(e.Code));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void Fill(JobReport report, TransferProgress progress)
    {
        report.Phase = progress.Phase switch
        {
            // Block replication sends disks; file replication sends trees, then any block-mode partitions.
            "sending" or "files" or "blocks" or "converging" or "frozen" => "Syncing",
            "verifying" => "Processing",
            "done" => "Cleaning",
            _ => "Preparing",
        };
        report.DoneBytes = (ulong)progress.DoneBytes;
        report.TotalBytes = (ulong)progress.TotalBytes;
        report.WireBytes = (ulong)progress.WireBytes;
    }

    /// <summary>The outcome must arrive: retried with backoff for up to ten minutes.</summary>
    private async Task ReportWithRetryAsync(JobReport report)
    {
        for (var delay = TimeSpan.FromSeconds(1); delay < TimeSpan.FromMinutes(10); delay *= 2)
        {
            try
            {
                await control.ReportAsync(report, CancellationToken.None);
                return;
            }
            catch (FerryException e)
            {
                log.Warning("Reporting job {JobId} as {Outcome} failed ({Code}); retrying in {Seconds} s", report.JobId, report.Outcome,
                    ErrorCodes.Name(e.Code), delay.TotalSeconds);
                await Task.Delay(delay);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Run? run;
        lock (_lock)
        {
            run = _current;
        }
        if (run is not null)
        {
            await run.Cancel.CancelAsync();
            await run.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
            run.Cancel.Dispose();
        }
    }

    private sealed record Run(string JobId, TransferControl Control, CancellationTokenSource Cancel, Task Task);
}
