using System.Text;
using Ferry.Control;
using Ferry.Control.Jobs;
using Ferry.Control.Model;
using Ferry.Control.Security;
using Ferry.Control.Store;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Xunit;

namespace Ferry.Tests.Unit.Control;

/// <summary>
/// The control plane's rules on a real SQLite file: codes, AccessKeys, re-import, jobs. Every
/// refusal carries its stable code and leaves no half-made source or job behind.
/// </summary>
public sealed class ControlPlaneTests : IDisposable
{
    private const string Inventory = """{"disks":[{"path":"/dev/vda"},{"path":"/dev/vdb"}]}""";
    private readonly TempDir _dir = new();
    private readonly SqliteControlStore _store;
    private readonly ControlPlane _plane;
    private readonly List<string> _tokens = [];

    public ControlPlaneTests()
    {
        _store = new SqliteControlStore(_dir["ferry.db"]);
        _plane = new ControlPlane(_store, SecretBox.OpenOrCreate(_dir["secret.key"]), new JobDispatcher(),
            new Ferry.Control.Hosting.ReceiverLink("", 8080, 8703, new string('f', 64), (t, _) => _tokens.Add(t), t => _tokens.Remove(t)), TimeProvider.System, TimeSpan.FromSeconds(30));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RegisterWithCode_FiftyConcurrentAgainstQuotaTen_ImportsExactlyTen()
    {
        var (code, secret) = _plane.CreateCode(10, 1, null);
        using var start = new ManualResetEventSlim();

        var attempts = Enumerable.Range(0, 50).Select(i => Task.Run(() =>
        {
            start.Wait();
            try
            {
                _plane.RegisterWithCode(code.Id, secret, Registration($"identity-{i:D4}-padding"));
                return (ErrorCode?)null;
            }
            catch (ControlException e)
            {
                return e.Code;
            }
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(attempts).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(10, results.Count(r => r is null));
        Assert.Equal(40, results.Count(r => r == ErrorCode.CodeExhausted));
        Assert.Equal(10, _store.ListSources().Count);
        Assert.Equal(10, Assert.Single(_store.ListCodes()).Used);
    }

    [Fact]
    public void RegisterWithCode_SameMachineAgain_ReimportsTheSameSourceWithoutTakingQuota()
    {
        var (code, secret) = _plane.CreateCode(1, 1, null);

        var first = _plane.RegisterWithCode(code.Id, secret, Registration("machine-identity-0001"));
        var again = _plane.RegisterWithCode(code.Id, secret, Registration("machine-identity-0001"));

        Assert.Equal(first.Source.Id, again.Source.Id);
        Assert.NotEqual(first.AgentToken, again.AgentToken);
        Assert.Equal(1, Assert.Single(_store.ListCodes()).Used);
        Assert.Throws<ControlException>(() => _plane.AuthenticateAgent(first.AgentToken));
        Assert.Equal(first.Source.Id, _plane.AuthenticateAgent(again.AgentToken).Id);
    }

    [Fact]
    public void RegisterWithCode_BadCodes_AreRefusedWithTheirOwnCodesAndCreateNothing()
    {
        var (revoked, revokedSecret) = _plane.CreateCode(5, 1, null);
        _plane.RevokeCode(revoked.Id);
        var (full, fullSecret) = _plane.CreateCode(1, 1, null);
        _plane.RegisterWithCode(full.Id, fullSecret, Registration("machine-identity-full"));
        var expired = new ActivationCode("at-0000000000000001", 5, 0, DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(-1), false, null);
        _store.AddCode(expired, Secrets.Hash("expired-secret"));
        var before = _store.ListSources().Count;

        Assert.Equal(ErrorCode.CodeUnknown, Refusal(() => _plane.RegisterWithCode("at-ffffffffffffffff", "x", Registration("machine-identity-a"))));
        Assert.Equal(ErrorCode.CodeUnknown, Refusal(() => _plane.RegisterWithCode(revoked.Id, "wrong-secret", Registration("machine-identity-a"))));
        Assert.Equal(ErrorCode.CodeRevoked, Refusal(() => _plane.RegisterWithCode(revoked.Id, revokedSecret, Registration("machine-identity-a"))));
        Assert.Equal(ErrorCode.CodeExpired, Refusal(() => _plane.RegisterWithCode(expired.Id, "expired-secret", Registration("machine-identity-a"))));
        Assert.Equal(ErrorCode.CodeExhausted, Refusal(() => _plane.RegisterWithCode(full.Id, fullSecret, Registration("machine-identity-a"))));
        Assert.Equal(before, _store.ListSources().Count);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1001, 1)]
    [InlineData(10, 0)]
    [InlineData(10, 91)]
    public void CreateCode_QuotaOrDaysOutOfRange_IsRefused(int quota, int days)
    {
        Assert.Equal(ErrorCode.InvalidRequest, Refusal(() => _plane.CreateCode(quota, days, null)));
        Assert.Empty(_store.ListCodes());
    }

    [Fact]
    public void RegisterWithAccessKey_SignedRequest_ImportsAndWrongSecretOrSkewIsRefused()
    {
        var (key, secret) = _plane.CreateAccessKey("ci");
        var body = Encoding.UTF8.GetBytes("registration bytes");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var path = Ferry.Control.Api.AgentApiService.RegisterPath;

        var skewed = now - (20 * 60);
        var skew = Assert.Throws<ControlException>(() => _plane.RegisterWithAccessKey(key.Id, skewed,
            RequestSignature.Sign(secret, "POST", path, skewed, body), "POST", path, body, Registration("machine-identity-key1")));
        Assert.Equal(ErrorCode.ClockSkew, skew.Code);
        Assert.Contains("20 minutes behind", skew.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.AccessKeyInvalid, Refusal(() => _plane.RegisterWithAccessKey(key.Id, now,
            RequestSignature.Sign("not-the-secret", "POST", path, now, body), "POST", path, body, Registration("machine-identity-key1"))));
        Assert.Equal(ErrorCode.AccessKeyInvalid, Refusal(() => _plane.RegisterWithAccessKey(key.Id, now,
            RequestSignature.Sign(secret, "POST", path, now, body), "POST", path, Encoding.UTF8.GetBytes("tampered"), Registration("machine-identity-key1"))));
        Assert.Empty(_store.ListSources());

        var ok = _plane.RegisterWithAccessKey(key.Id, now, RequestSignature.Sign(secret, "POST", path, now, body), "POST", path, body,
            Registration("machine-identity-key1"));
        Assert.StartsWith("s-", ok.Source.Id, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_AreNotStoredInTheDatabase()
    {
        var (_, codeSecret) = _plane.CreateCode(5, 1, null);
        var (_, keySecret) = _plane.CreateAccessKey(null);
        var (code2, secret2) = _plane.CreateCode(5, 1, null);
        var (_, agentToken) = _plane.RegisterWithCode(code2.Id, secret2, Registration("machine-identity-secret"));

        var bytes = Directory.GetFiles(_dir.Path, "ferry.db*").SelectMany(File.ReadAllBytes).ToArray();
        foreach (var secret in new[] { codeSecret, keySecret, secret2, agentToken })
        {
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, "a secret is stored in the clear");
        }
    }

    [Fact]
    public void CreateJob_SourceWithAnUnfinishedJob_IsRefusedNamingIt()
    {
        var source = Import("machine-identity-jobs");
        var first = _plane.CreateJob(source, new JobSettings([]));

        var e = Assert.Throws<ControlException>(() => _plane.CreateJob(source, new JobSettings([])));

        Assert.Equal(ErrorCode.JobConflict, e.Code);
        Assert.Contains(first.Id, e.Message, StringComparison.Ordinal);
        Assert.Single(_store.ListJobs(source));
    }

    [Fact]
    public void CreateJob_UnknownDiskOrTooManyDisks_IsRefusedAndCreatesNothing()
    {
        var source = Import("machine-identity-disks");

        Assert.Equal(ErrorCode.InvalidRequest, Refusal(() => _plane.CreateJob(source, new JobSettings(["/dev/sdz"]))));
        Assert.Equal(ErrorCode.InvalidRequest, Refusal(() => _plane.CreateJob(source, new JobSettings(Enumerable.Range(0, 17).Select(i => $"/dev/vd{i}").ToList()))));
        Assert.Equal(ErrorCode.InvalidRequest, Refusal(() => _plane.CreateJob(source, new JobSettings([], Compression: 11))));
        Assert.Equal(ErrorCode.NotFound, Refusal(() => _plane.CreateJob("s-0000000000000000", new JobSettings([]))));
        Assert.Empty(_store.ListJobs());
    }

    [Fact]
    public void CreateJob_FileMode_NeedsALayoutAndCarriesItToTheAgent()
    {
        var source = Import("machine-identity-file-job");

        Assert.Equal(ErrorCode.LayoutInvalid, Refusal(() => _plane.CreateJob(source, new JobSettings([], Mode: "file"))));
        Assert.Equal(ErrorCode.LayoutInvalid, Refusal(() => _plane.CreateJob(source, new JobSettings([], Mode: "file", Layout: "[1, 2]"))));
        Assert.Equal(ErrorCode.LayoutInvalid, Refusal(() => _plane.CreateJob(source, new JobSettings([], Mode: "file", Layout: "{not json"))));
        Assert.Equal(ErrorCode.InvalidRequest, Refusal(() => _plane.CreateJob(source, new JobSettings([], Mode: "files"))));
        Assert.Empty(_store.ListJobs());

        const string layout = """{"disks": [{"name": "vda", "size": "8GiB", "partitions": [{"mount_point": "/"}]}]}""";
        var job = _plane.CreateJob(source, new JobSettings(["/dev/sda"], Mode: "file", Layout: layout));
        var assignment = _plane.Assignment(job);
        Assert.Equal("file", assignment.Mode);
        Assert.Equal(layout, assignment.LayoutJson);
        Assert.Empty(assignment.Disks);
    }

    [Fact]
    public void Act_VerbNotAllowedInTheCurrentState_IsRefusedNamingTheState()
    {
        var job = _plane.CreateJob(Import("machine-identity-verbs"), new JobSettings([]));

        var e = Assert.Throws<ControlException>(() => _plane.Act(job.Id, "pause"));

        Assert.Equal(ErrorCode.InvalidState, e.Code);
        Assert.Contains("is Ready", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Act_StartPauseModifyResumeCancel_FollowsTheStatesAndRevokesTheTokenWhenTheAgentIsDone()
    {
        var source = Import("machine-identity-flow");
        var job = _plane.CreateJob(source, new JobSettings(["/dev/vda"]));

        Assert.Equal(JobState.Running, _plane.Act(job.Id, "start").State);
        Assert.Equal(SourceState.InUse, _plane.GetSource(source).State);
        var assignment = _plane.Assignment(_plane.GetJob(job.Id));
        Assert.Contains(assignment.ReceiverToken, _tokens);
        Assert.Equal(JobState.Stopped, _plane.Act(job.Id, "pause").State);
        var modified = _plane.Act(job.Id, "modify", new JobSettings([], Compression: 2, BandwidthMbit: 50, Checksum: false));
        Assert.Equal((2, 50.0, false), (modified.Settings.Compression, modified.Settings.BandwidthMbit, modified.Settings.Checksum));
        Assert.Equal(JobState.Running, _plane.Act(job.Id, "resume").State);
        Assert.Equal(JobState.Deleting, _plane.Act(job.Id, "cancel").State);
        Assert.Single(_tokens);
        _plane.Report(_plane.GetSource(source), new Ferry.Transfer.Protocol.JobReport { JobId = job.Id, Outcome = "cancelled" });
        Assert.Empty(_tokens);
        Assert.Equal(SourceState.Available, _plane.GetSource(source).State);
        Assert.Equal(JobState.Ready, _plane.CreateJob(source, new JobSettings([])).State);
    }

    private string Import(string identity)
    {
        var (code, secret) = _plane.CreateCode(5, 1, null);
        return _plane.RegisterWithCode(code.Id, secret, Registration(identity)).Source.Id;
    }

    private static Registration Registration(string identity) => new(identity, "host", "1.0", Inventory);

    private static ErrorCode Refusal(Action action) => Assert.Throws<ControlException>(action).Code;
}
