using Ferry.Control;
using Ferry.Control.Hosting;
using Ferry.Control.Jobs;
using Ferry.Control.Model;
using Ferry.Control.Security;
using Ferry.Control.Store;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Xunit;

namespace Ferry.Tests.Unit.Control;

/// <summary>
/// Incremental jobs on a real SQLite store and a clock the test moves: each cycle's report makes the
/// job wait for the next, the scheduler starts it when it is due, sync starts it at once, and a
/// cut-over runs one last cycle and then ends the job.
/// </summary>
public sealed class IncrementalJobTests : IDisposable
{
    private const string Inventory = """{"disks":[{"path":"/dev/vda"}]}""";
    private const long Every = 3600;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TempDir _dir = new();
    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly SqliteControlStore _store;
    private readonly JobDispatcher _dispatcher = new();
    private readonly ControlPlane _plane;
    private readonly List<string> _tokens = [];
    private readonly List<string> _discarded = [];

    public IncrementalJobTests()
    {
        _store = new SqliteControlStore(_dir["ferry.db"]);
        _plane = new ControlPlane(_store, SecretBox.OpenOrCreate(_dir["secret.key"]), _dispatcher,
            new ReceiverLink("", 8080, 8703, new string('f', 64), (t, _) => _tokens.Add(t), t => _tokens.Remove(t), _discarded.Add), _clock, TimeSpan.FromSeconds(30));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Act_StartIncrementalJob_RunsAndRecordsWhenTheCycleStarted()
    {
        var (source, job) = NewIncrementalJob();

        var started = _plane.Act(job.Id, "start");

        Assert.Equal(JobState.Running, started.State);
        Assert.Equal(_clock.Now, started.Cycles.StartedAt);
        Assert.Null(started.Cycles.NextAt);
        Assert.Equal(SourceState.InUse, _plane.GetSource(source).State);
        var assignment = _plane.Assignment(_plane.GetJob(job.Id));
        Assert.True(assignment.Incremental);
        Assert.Equal(5u, assignment.Keep);
        Assert.False(assignment.FinalCycle);
        Assert.Contains(assignment.ReceiverToken, _tokens);
    }

    [Fact]
    public void Act_CancelWhileWaiting_TheReceiverDropsTheWorkingImagesOfThatSource()
    {
        var (source, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        Report(source, job.Id, "cycle", cycle: 1);
        Assert.Empty(_discarded);

        var cancelled = _plane.Act(job.Id, "cancel");

        Assert.Equal(JobState.Deleting, cancelled.State);
        Assert.Equal([source], _discarded);
    }

    [Fact]
    public void Report_CycleDone_WaitsUntilEveryAfterTheCycleStarted()
    {
        var (source, job) = NewIncrementalJob();
        var startedAt = _plane.Act(job.Id, "start").Cycles.StartedAt;
        _plane.Assignment(_plane.GetJob(job.Id));
        _clock.Advance(TimeSpan.FromMinutes(10));

        Report(source, job.Id, "cycle", cycle: 1, "/srv/ferry/web1/cycle-1/vda.raw");

        var waiting = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Waiting, waiting.State);
        Assert.Equal(JobPhase.None, waiting.Phase);
        Assert.Equal(1, waiting.Cycles.Completed);
        Assert.Equal(startedAt + TimeSpan.FromSeconds(Every), waiting.Cycles.NextAt);
        Assert.Equal(["/srv/ferry/web1/cycle-1/vda.raw"], waiting.Images);
        // Between cycles the source still belongs to the job, and the cycle's data token is gone.
        Assert.Equal(SourceState.InUse, _plane.GetSource(source).State);
        Assert.Empty(_tokens);
    }

    [Fact]
    public void Report_CycleThatTookLongerThanEvery_MakesTheNextCycleDueAtOnce()
    {
        var (source, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        _clock.Advance(TimeSpan.FromSeconds(Every + 600));

        Report(source, job.Id, "cycle", cycle: 1);

        var waiting = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Waiting, waiting.State);
        Assert.Equal(_clock.Now, waiting.Cycles.NextAt);
    }

    [Fact]
    public async Task StartDueCycles_OnlyOnceTheNextCycleIsDue_RunsTheJobAndTellsTheAgent()
    {
        var (source, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        Report(source, job.Id, "cycle", cycle: 1);
        var nextAt = _plane.GetJob(job.Id).Cycles.NextAt!.Value;
        var agent = _dispatcher.Watch(source);

        _clock.Advance(nextAt - _clock.Now - TimeSpan.FromSeconds(1));
        _plane.StartDueCycles();

        Assert.Equal(JobState.Waiting, _plane.GetJob(job.Id).State);
        Assert.False(agent.Reader.TryRead(out _));

        _clock.Advance(TimeSpan.FromSeconds(1));
        _plane.StartDueCycles();

        var running = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Running, running.State);
        Assert.Equal(JobPhase.Preparing, running.Phase);
        Assert.Equal(nextAt, running.Cycles.StartedAt);
        Assert.Null(running.Cycles.NextAt);
        Assert.Equal(1, running.Cycles.Completed);
        Assert.Equal(job.Id, await agent.Reader.ReadAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal(SourceState.InUse, _plane.GetSource(source).State);
    }

    [Fact]
    public void Act_SyncWhileWaiting_RunsTheNextCycleNow()
    {
        var (source, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        Report(source, job.Id, "cycle", cycle: 1);
        _clock.Advance(TimeSpan.FromMinutes(5));

        var running = _plane.Act(job.Id, "sync");

        Assert.Equal(JobState.Running, running.State);
        Assert.Equal(_clock.Now, running.Cycles.StartedAt);
        Assert.Null(running.Cycles.NextAt);
        Assert.False(running.Cycles.Cutover);
        Assert.Equal(SourceState.InUse, _plane.GetSource(source).State);
    }

    [Fact]
    public void Act_SyncWhileRunning_IsRefusedNamingTheState()
    {
        var (_, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");

        var e = Assert.Throws<ControlException>(() => _plane.Act(job.Id, "sync"));

        Assert.Equal(ErrorCode.InvalidState, e.Code);
        Assert.Contains("is Running", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Act_CutoverWhileRunning_RunsOneLastCycleAfterTheCurrentOneThenFinishes()
    {
        var (source, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        Report(source, job.Id, "cycle", cycle: 1);
        _plane.Act(job.Id, "sync");

        var cutover = _plane.Act(job.Id, "cutover");

        Assert.Equal(JobState.Running, cutover.State);
        Assert.True(cutover.Cycles.Cutover);

        // Cycle 2 ends: the cut-over cycle runs at once instead of waiting.
        _clock.Advance(TimeSpan.FromMinutes(3));
        Report(source, job.Id, "cycle", cycle: 2);
        var last = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Running, last.State);
        Assert.Equal(JobPhase.Preparing, last.Phase);
        Assert.Equal(2, last.Cycles.Completed);
        Assert.Equal(_clock.Now, last.Cycles.StartedAt);
        Assert.Null(last.Cycles.NextAt);
        Assert.True(_plane.Assignment(last).FinalCycle);
        Assert.Equal(SourceState.InUse, _plane.GetSource(source).State);

        Report(source, job.Id, "finished", cycle: 3, "/srv/ferry/web1/cycle-3/vda.raw");
        var finished = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Finished, finished.State);
        Assert.Equal(3, finished.Cycles.Completed);
        Assert.Equal(["/srv/ferry/web1/cycle-3/vda.raw"], finished.Images);
        Assert.Equal(SourceState.Available, _plane.GetSource(source).State);
        Assert.Empty(_tokens);
    }

    [Fact]
    public void Act_CutoverWhileWaiting_RunsTheLastCycleNow()
    {
        var (source, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        Report(source, job.Id, "cycle", cycle: 1);
        _clock.Advance(TimeSpan.FromMinutes(1));

        var last = _plane.Act(job.Id, "cutover");

        Assert.Equal(JobState.Running, last.State);
        Assert.True(last.Cycles.Cutover);
        Assert.Equal(_clock.Now, last.Cycles.StartedAt);
        Assert.Null(last.Cycles.NextAt);
        Assert.True(_plane.Assignment(_plane.GetJob(job.Id)).FinalCycle);
    }

    [Fact]
    public void Act_CutoverWhileStopped_KeepsItStoppedAndMarksTheCutover()
    {
        var (_, job) = NewIncrementalJob();
        _plane.Act(job.Id, "start");
        _plane.Act(job.Id, "pause");

        var stopped = _plane.Act(job.Id, "cutover");

        Assert.Equal(JobState.Stopped, stopped.State);
        Assert.True(stopped.Cycles.Cutover);
    }

    [Fact]
    public void Report_CycleOutcomeForAOneOffJob_LeavesItRunning()
    {
        var source = Import("machine-identity-cycle-one-off");
        var job = _plane.CreateJob(source, new JobSettings([]));
        _plane.Act(job.Id, "start");

        Report(source, job.Id, "cycle", cycle: 1);

        Assert.Equal(JobState.Running, _plane.GetJob(job.Id).State);
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("cutover")]
    public void Act_SyncOrCutoverOnAOneOffJob_IsRefusedAsInvalidRequest(string verb)
    {
        var source = Import("machine-identity-one-off");
        var job = _plane.CreateJob(source, new JobSettings([]));
        _plane.Act(job.Id, "start");

        var e = Assert.Throws<ControlException>(() => _plane.Act(job.Id, verb));

        Assert.Equal(ErrorCode.InvalidRequest, e.Code);
        Assert.Contains("one-off", e.Message, StringComparison.Ordinal);
        var unchanged = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Running, unchanged.State);
        Assert.Equal(JobCycles.None, unchanged.Cycles);
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(9, 3)]
    [InlineData((30L * 86400) + 1, 3)]
    [InlineData(3600, 0)]
    [InlineData(3600, 101)]
    public void CreateJob_IncrementalWithEveryOrKeepOutOfRange_IsRefusedAndCreatesNothing(long everySeconds, int keep)
    {
        var source = Import("machine-identity-bad-settings");

        var e = Assert.Throws<ControlException>(() => _plane.CreateJob(source, new JobSettings([], Incremental: true, EverySeconds: everySeconds, Keep: keep)));

        Assert.Equal(ErrorCode.InvalidRequest, e.Code);
        Assert.Empty(_store.ListJobs());
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(30L * 86400, 100)]
    public void CreateJob_IncrementalAtTheLimitsOfEveryAndKeep_IsAccepted(long everySeconds, int keep)
    {
        var source = Import("machine-identity-limits");

        var job = _plane.CreateJob(source, new JobSettings([], Incremental: true, EverySeconds: everySeconds, Keep: keep));

        var stored = _plane.GetJob(job.Id);
        Assert.Equal(JobState.Ready, stored.State);
        Assert.Equal((true, everySeconds, keep), (stored.Settings.Incremental, stored.Settings.EverySeconds, stored.Settings.Keep));
        Assert.Equal(["/dev/vda"], stored.Settings.Disks);
    }

    [Fact]
    public void CreateJob_IncrementalFileJob_IsAcceptedWithItsCycleSettings()
    {
        var source = Import("machine-identity-incremental-file");
        const string layout = """{"disks": [{"name": "vda", "size": "8GiB", "partitions": [{"mount_point": "/"}]}]}""";

        var job = _plane.CreateJob(source, new JobSettings([], Mode: "file", Layout: layout, Incremental: true, EverySeconds: 600, Keep: 2));

        var stored = _plane.GetJob(job.Id);
        Assert.Equal(("file", true, 600L, 2), (stored.Settings.Mode, stored.Settings.Incremental, stored.Settings.EverySeconds, stored.Settings.Keep));
    }

    private (string Source, MigrationJob Job) NewIncrementalJob()
    {
        var source = Import("machine-identity-incremental");
        return (source, _plane.CreateJob(source, new JobSettings([], Incremental: true, EverySeconds: Every, Keep: 5)));
    }

    private void Report(string source, string jobId, string outcome, uint cycle, params string[] images)
    {
        var report = new JobReport { JobId = jobId, Outcome = outcome, Cycle = cycle, Phase = "Cleaning" };
        report.Images.AddRange(images);
        _plane.Report(_plane.GetSource(source), report);
    }

    private string Import(string identity)
    {
        var (code, secret) = _plane.CreateCode(5, 1, null);
        return _plane.RegisterWithCode(code.Id, secret, new Registration(identity, "host", "1.0", Inventory)).Source.Id;
    }
}
