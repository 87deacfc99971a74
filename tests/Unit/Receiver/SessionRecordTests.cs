using Ferry.Receiver.Sessions;
using Ferry.Receiver.Targets;
using Ferry.Transfer.Protocol;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

public sealed class SessionRecordTests
{
    private static readonly byte[] Id = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
    private static readonly byte[] Key = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Load_AfterSave_MatchesOnlyTheSameSessionTokenFormatAndDisks()
    {
        using var dir = new TempDir();
        using var session = new ReceiveSession(Id, Key, "web1", new Dictionary<uint, IDiskTarget>(), "raw");
        SourceDisk[] disks = [new() { Index = 0, Name = "sda", SizeBytes = 1 << 30 }];
        SessionRecord.Of(session, disks).Save(dir.Path);

        var record = SessionRecord.Load(dir.Path);

        Assert.NotNull(record);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir[".session.json"]));
        // The token's key admits data connections: only its hash is kept.
        Assert.DoesNotContain(Convert.ToHexStringLower(Key), File.ReadAllText(dir[".session.json"]), StringComparison.Ordinal);
        Assert.True(record.Matches(Id, Key, "raw", disks));
        Assert.False(record.Matches(Id, [.. Key.Reverse()], "raw", disks));
        Assert.False(record.Matches([.. Id.Reverse()], Key, "raw", disks));
        Assert.False(record.Matches(Id, Key, "qcow2", disks));
        Assert.False(record.Matches(Id, Key, "raw", [new() { Index = 0, Name = "sda", SizeBytes = 2L << 30 }]));
    }

    [Fact]
    public void Load_MissingOrDamaged_IsNull()
    {
        using var dir = new TempDir();
        Assert.Null(SessionRecord.Load(dir.Path));
        Assert.Null(SessionRecord.Load(dir["nowhere"]));
        File.WriteAllText(dir[".session.json"], "{\"id\": 5");
        Assert.Null(SessionRecord.Load(dir.Path));
        SessionRecord.Delete(dir["nowhere"]);
    }
}
