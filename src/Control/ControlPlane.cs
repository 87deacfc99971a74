using System.Collections.Concurrent;
using Ferry.Control.Hosting;
using Ferry.Control.Jobs;
using Ferry.Control.Model;
using Ferry.Control.Security;
using Ferry.Control.Store;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;

namespace Ferry.Control;

/// <summary>
/// The control plane's operations, shared by the operator REST API and the agent API: every rule
/// about codes, keys, sources and jobs lives here, not in the endpoints.
/// </summary>
public sealed class ControlPlane(IControlStore store, SecretBox secretBox, JobDispatcher dispatcher, ReceiverLink? receiver, TimeProvider clock,
    TimeSpan heartbeatInterval)
{
    public const int MaxQuota = 1000;
    public const int MaxDays = 90;
    public const int MaxDisksPerJob = 16;
    public const long MinEverySeconds = 10;
    public const long MaxEverySeconds = 30L * 86400;

    private readonly ConcurrentDictionary<string, string> _jobTokens = new();

    public IControlStore Store => store;

    public JobDispatcher Dispatcher => dispatcher;

    public TimeSpan HeartbeatInterval => heartbeatInterval;

    public ReceiverLink? Receiver => receiver;

    public (ActivationCode Code, string Secret) CreateCode(int quota, int days, string? description)
    {
        if (quota is < 1 or > MaxQuota)
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"quota {quota} is outside 1-{MaxQuota}");
        }
        if (days is < 1 or > MaxDays)
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"validity of {days} days is outside 1-{MaxDays}");
        }
        var now = clock.GetUtcNow();
        var code = new ActivationCode(Secrets.NewId("at-"), quota, 0, now, now.AddDays(days), false, description);
        var secret = Secrets.NewSecret();
        store.AddCode(code, Secrets.Hash(secret));
        return (code, secret);
    }

    public void RevokeCode(string id)
    {
        if (!store.RevokeCode(id))
        {
            throw new ControlException(ErrorCode.NotFound, $"there is no activation code {id}");
        }
    }

    public (AccessKey Key, string Secret) CreateAccessKey(string? description)
    {
        var key = new AccessKey(Secrets.NewId("ak-"), clock.GetUtcNow(), description);
        var secret = Secrets.NewSecret();
        store.AddAccessKey(key, secretBox.Seal(secret));
        return (key, secret);
    }

    public void DeleteAccessKey(string id)
    {
        if (!store.DeleteAccessKey(id))
        {
            throw new ControlException(ErrorCode.NotFound, $"there is no AccessKey {id}");
        }
    }

    public (SourceServer Source, string AgentToken) RegisterWithCode(string codeId, string secret, Registration registration)
    {
        var token = Secrets.NewSecret();
        return (store.ActivateWithCode(codeId, secret, registration, Secrets.Hash(token), clock.GetUtcNow()), token);
    }

    /// <summary>Registers with an AccessKey whose signature over the request the caller has not yet checked.</summary>
    public (SourceServer Source, string AgentToken) RegisterWithAccessKey(string keyId, long timestamp, string signature, string method, string path,
        ReadOnlySpan<byte> body, Registration registration)
    {
        var skew = RequestSignature.Skew(timestamp, clock.GetUtcNow());
        if (skew.Duration() > RequestSignature.MaxSkew)
        {
            throw new ControlException(ErrorCode.ClockSkew,
                $"the source's clock is {Math.Abs(skew.TotalMinutes):0} minutes {(skew > TimeSpan.Zero ? "behind" : "ahead of")} the control plane's (at most {RequestSignature.MaxSkew.TotalMinutes:0} allowed)",
                "Set the source's clock right (for example with chrony or systemd-timesyncd), then run the agent again.");
        }
        var sealedSecret = store.GetAccessKeySecret(keyId);
        if (sealedSecret is null || !RequestSignature.Verify(secretBox.Open(sealedSecret), method, path, timestamp, body, signature))
        {
            throw new ControlException(ErrorCode.AccessKeyInvalid, "the AccessKey id or secret is not valid on this control plane",
                "Check both halves of the AccessKey pair (ferry accesskey list).");
        }
        var token = Secrets.NewSecret();
        return (store.RegisterWithAccessKey(keyId, registration, Secrets.Hash(token), clock.GetUtcNow()), token);
    }

    public SourceServer AuthenticateAgent(string? token) =>
        (token is null ? null : store.FindSourceByAgentToken(Secrets.Hash(token)))
        ?? throw new ControlException(ErrorCode.AuthFailed, "the agent's credential is not valid (the source was deleted or re-imported elsewhere)",
            "Run ./agent again to re-import this source.");

    public SourceServer GetSource(string id) => store.GetSource(id) ?? throw new ControlException(ErrorCode.NotFound, $"there is no source {id}");

    public MigrationJob GetJob(string id) => store.GetJob(id) ?? throw new ControlException(ErrorCode.NotFound, $"there is no job {id}");

    public MigrationJob CreateJob(string sourceId, JobSettings settings)
    {
        var source = GetSource(sourceId);
        ValidateSettings(settings);
        if (settings.Mode == "file")
        {
            return AddJob(sourceId, settings with { Disks = [] });
        }
        var known = InventoryDisks(source);
        var disks = settings.Disks.Count == 0 ? known : settings.Disks;
        if (disks.Count is 0 or > MaxDisksPerJob)
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"a job copies 1 to {MaxDisksPerJob} disks; this one names {disks.Count}");
        }
        var unknown = disks.Where(d => !known.Contains(d)).ToList();
        if (unknown.Count > 0)
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"source {sourceId} has no disk {string.Join(", ", unknown)}",
                $"Its disks are: {string.Join(", ", known)} (ferry source show {sourceId}).");
        }
        return AddJob(sourceId, settings with { Disks = disks });
    }

    private MigrationJob AddJob(string sourceId, JobSettings settings)
    {
        var now = clock.GetUtcNow();
        var job = new MigrationJob(Secrets.NewId("j-"), sourceId, JobState.Ready, JobPhase.None, settings, JobProgress.None, now, now, null, null, []);
        store.AddJob(job);
        return job;
    }

    /// <summary>Applies an operator verb (start, pause, resume, modify, retry, cancel) and tells the agent.</summary>
    public MigrationJob Act(string jobId, string verb, JobSettings? modified = null)
    {
        var job = GetJob(jobId);
        // Before the state check: a one-off job is never Waiting, so "sync" would otherwise be refused for its state, not for what it is.
        if (verb is "sync" or "cutover" && !job.Settings.Incremental)
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"job {jobId} is a one-off job; '{verb}' belongs to incremental jobs");
        }
        var next = JobTransitions.Apply(job, verb);
        var cycles = job.Cycles;
        if (verb == "cutover")
        {
            cycles = cycles with { Cutover = true };
            next = job.State == JobState.Waiting ? JobState.Running : next;
        }
        if (next == JobState.Running && job.State is JobState.Ready or JobState.InError or JobState.Waiting && job.Settings.Incremental)
        {
            // A cycle starts (or runs again): the next one is due `every` after this moment.
            cycles = cycles with { StartedAt = clock.GetUtcNow(), NextAt = null };
        }
        if (next == JobState.Running && receiver is null)
        {
            throw new ControlException(ErrorCode.InvalidState, "this control plane has no receiver to send jobs to",
                "Start it with `ferry serve --with-receiver`.");
        }
        var settings = job.Settings;
        if (verb == "modify")
        {
            if (modified is null)
            {
                throw new ControlException(ErrorCode.InvalidRequest, "modify needs new settings");
            }
            settings = settings with { Compression = modified.Compression, BandwidthMbit = modified.BandwidthMbit, Checksum = modified.Checksum };
            ValidateSettings(settings);
        }
        var updated = job with
        {
            State = next,
            Phase = next == JobState.Running && job.State is JobState.Ready or JobState.InError or JobState.Waiting ? JobPhase.Preparing : job.Phase,
            Settings = settings,
            UpdatedAt = clock.GetUtcNow(),
            ErrorCode = next == JobState.Running ? null : job.ErrorCode,
            ErrorMessage = next == JobState.Running ? null : job.ErrorMessage,
            Cycles = cycles,
        };
        if (verb == "cancel")
        {
            // Says why the job ended where the operator looks (job show), in the words of the error table.
            updated = updated with
            {
                ErrorCode = ErrorCodes.Name(ErrorCode.JobCancelled),
                ErrorMessage = "cancelled by the operator: the agent stops, the receiver removes the unfinished images and the agent its breakpoint",
            };
        }
        if (!store.UpdateJob(updated, job.State))
        {
            var now = GetJob(jobId);
            throw new ControlException(ErrorCode.InvalidState, $"job {jobId} changed to {now.State} meanwhile; try again");
        }
        store.SetSourceState(job.SourceId, next is JobState.Running or JobState.Waiting ? SourceState.InUse : SourceState.Available);
        if (verb == "cancel" && job.State == JobState.Waiting)
        {
            // Between cycles no agent session is open to abort: the receiver drops the working images itself (the cycles' images stay).
            receiver?.DiscardWork?.Invoke(job.SourceId);
        }
        dispatcher.Notify(job.SourceId, job.Id);
        return updated;
    }

    /// <summary>Starts the cycles of incremental jobs whose time has come (called every second).</summary>
    public void StartDueCycles()
    {
        var now = clock.GetUtcNow();
        foreach (var job in store.ListJobs().Where(j => j.State == JobState.Waiting && j.Cycles.NextAt <= now))
        {
            var started = job with
            {
                State = JobState.Running,
                Phase = JobPhase.Preparing,
                UpdatedAt = now,
                Cycles = job.Cycles with { StartedAt = now, NextAt = null },
            };
            if (store.UpdateJob(started, JobState.Waiting))
            {
                dispatcher.Notify(job.SourceId, job.Id);
            }
        }
    }

    /// <summary>What the agent is told about a job: the settings and, while it runs, the receiver and a job token.</summary>
    public Transfer.Protocol.JobAssignment Assignment(MigrationJob job)
    {
        var assignment = new Transfer.Protocol.JobAssignment
        {
            JobId = job.Id,
            State = job.State.ToString(),
            Compression = (uint)job.Settings.Compression,
            BandwidthMbit = job.Settings.BandwidthMbit,
            Checksum = job.Settings.Checksum,
            ImageFormat = job.Settings.ImageFormat,
            Mode = job.Settings.Mode,
            LayoutJson = job.Settings.Layout ?? "",
            Incremental = job.Settings.Incremental,
            Keep = (uint)job.Settings.Keep,
            FinalCycle = job.Cycles.Cutover,
        };
        assignment.Disks.AddRange(job.Settings.Disks);
        if (receiver is not null && job.State is JobState.Running or JobState.Stopped)
        {
            var token = _jobTokens.GetOrAdd(job.Id, _ =>
            {
                var t = secretBox.Derive("job-token:" + job.Id);
                receiver.AllowToken(t, Transfer.Control.TransportSecurityText.TryParse(job.Settings.Encryption, out var security) ? security : Transfer.Control.TransportSecurity.On);
                return t;
            });
            assignment.ReceiverHost = receiver.Host;
            assignment.ReceiverControlPort = (uint)receiver.ControlPort;
            assignment.ReceiverDataPort = (uint)receiver.DataPort;
            assignment.ReceiverToken = token;
            assignment.ReceiverFingerprint = receiver.Fingerprint;
            assignment.Tls = job.Settings.Encryption;
        }
        return assignment;
    }

    /// <summary>Records what the agent says about a job it runs; the outcome ends the job.</summary>
    public void Report(SourceServer source, Transfer.Protocol.JobReport report)
    {
        var job = GetJob(report.JobId);
        if (job.SourceId != source.Id)
        {
            throw new ControlException(ErrorCode.NotFound, $"there is no job {report.JobId} for this source");
        }
        var progress = new JobProgress((long)report.DoneBytes, (long)report.TotalBytes, (long)report.WireBytes, (long)report.SpeedBps,
            report.EtaS >= 0 ? report.EtaS : null);
        var phase = Enum.TryParse<JobPhase>(report.Phase, out var p) ? p : job.Phase;
        var updated = report.Outcome switch
        {
            "finished" when job.State == JobState.Running => job with
            {
                State = JobState.Finished,
                Phase = JobPhase.Cleaning,
                Images = [.. report.Images],
                Cycles = job.Settings.Incremental ? job.Cycles with { Completed = (int)report.Cycle } : job.Cycles,
            },
            // A cycle of an incremental job: wait for the next, or, when the cut-over was asked for meanwhile, run it at once.
            "cycle" when job.State == JobState.Running && job.Settings.Incremental => job with
            {
                State = job.Cycles.Cutover ? JobState.Running : JobState.Waiting,
                Phase = job.Cycles.Cutover ? JobPhase.Preparing : JobPhase.None,
                Images = [.. report.Images],
                Cycles = job.Cycles.Cutover
                    ? job.Cycles with { Completed = (int)report.Cycle, StartedAt = clock.GetUtcNow() }
                    : job.Cycles with { Completed = (int)report.Cycle, NextAt = Later(clock.GetUtcNow(), job.Cycles.StartedAt + TimeSpan.FromSeconds(job.Settings.EverySeconds)) },
            },
            "failed" when job.State is JobState.Running or JobState.Stopped => job with
            {
                State = JobState.InError,
                ErrorCode = report.ErrorCode,
                ErrorMessage = report.ErrorMessage,
            },
            "running" when job.State is JobState.Running or JobState.Stopped => job with { Phase = phase },
            _ => job,
        };
        updated = updated with { Progress = progress, UpdatedAt = clock.GetUtcNow() };
        var stored = store.UpdateJob(updated, job.State);
        // The job token lives until the agent says the transfer is over (it still needs it to abandon a cancelled session).
        if (report.Outcome != "running" && _jobTokens.TryRemove(job.Id, out var token))
        {
            receiver?.RevokeToken(token);
        }
        if (stored && updated.State != job.State)
        {
            store.SetSourceState(job.SourceId, updated.State switch
            {
                JobState.InError => SourceState.InError,
                JobState.Waiting => SourceState.InUse,
                _ => SourceState.Available,
            });
        }
        if (stored && report.Outcome == "cycle" && updated.State == JobState.Running)
        {
            dispatcher.Notify(job.SourceId, job.Id);
        }
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset? b) => b is { } t && t > a ? t : a;

    private static void ValidateSettings(JobSettings s)
    {
        if (s.Compression is < 0 or > 10 || s.BandwidthMbit < 0 || s.BandwidthMbit > 100_000)
        {
            throw new ControlException(ErrorCode.InvalidRequest, "compression must be 0-10 and bandwidth 0-100000 Mbit/s");
        }
        if (!Transfer.ImageFormat.IsKnown(s.ImageFormat))
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"image format '{s.ImageFormat}' is not one of {string.Join(", ", Transfer.ImageFormat.All)}");
        }
        if (!Transfer.Control.TransportSecurityText.TryParse(s.Encryption, out _))
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"encryption '{s.Encryption}' is not auto, on or off");
        }
        if (s.Mode is not ("block" or "file"))
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"mode '{s.Mode}' is not block or file");
        }
        if (s.Incremental && (s.EverySeconds is < MinEverySeconds or > MaxEverySeconds || s.Keep is < 1 or > 100))
        {
            throw new ControlException(ErrorCode.InvalidRequest,
                $"an incremental job runs a cycle every {MinEverySeconds} s to {MaxEverySeconds / 86400} days and keeps 1 to 100 images");
        }
        if (s.Mode == "file" && !IsLayoutDocument(s.Layout))
        {
            throw new ControlException(ErrorCode.LayoutInvalid, "a file job needs a layout: a JSON object with a \"disks\" list, at most 64 KiB",
                "See the README's layout example; the agent checks the rest against the source before anything is sent.");
        }
    }

    private static bool IsLayoutDocument(string? layout)
    {
        if (layout is null || layout.Length > 64 << 10)
        {
            return false;
        }
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(layout);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("disks", out var disks) && disks.ValueKind == System.Text.Json.JsonValueKind.Array;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>The whole-disk paths in a source's registered inventory.</summary>
    public static List<string> InventoryDisks(SourceServer source)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(source.Inventory);
            return doc.RootElement.GetProperty("disks").EnumerateArray().Select(d => d.GetProperty("path").GetString()!).ToList();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return [];
        }
    }
}
