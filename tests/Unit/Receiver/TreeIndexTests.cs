using Ferry.Receiver.Files;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>
/// The index of what a target tree holds: it knows entries and the names of each directory only once
/// it was saved whole and read back for the same disk; anything else knows nothing, so that no
/// entry is ever skipped on a guess.
/// </summary>
public sealed class TreeIndexTests : IDisposable
{
    private static readonly byte[] Disk = Enumerable.Range(0, 48).Select(i => (byte)i).ToArray();
    private static readonly byte[] OtherDisk = Enumerable.Range(1, 48).Select(i => (byte)i).ToArray();
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string IndexPath => _dir["tree-0.index"];

    [Fact]
    public void SavedAndConsumed_ForTheSameDisk_KnowsEntriesAndNames_AndTheFileIsGone()
    {
        var index = Sample();
        index.Save(IndexPath, Disk);
        Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(IndexPath), 8));

        var loaded = TreeIndex.Consume(IndexPath, Disk);

        Assert.False(File.Exists(IndexPath));
        Assert.True(loaded.Known);
        Assert.Equal(5, loaded.Count);
        Assert.True(loaded.Matches("etc/hosts", Hash("hosts")));
        Assert.False(loaded.Matches("etc/hosts", Hash("hosts, changed")));
        Assert.False(loaded.Matches("etc/passwd", Hash("passwd")));
        Assert.Equal(["etc", "var"], loaded.ChildrenOf("")!.Order(StringComparer.Ordinal));
        Assert.Equal(["fstab", "hosts"], loaded.ChildrenOf("etc")!.Order(StringComparer.Ordinal));
        Assert.Empty(loaded.ChildrenOf("nowhere")!);
    }

    [Fact]
    public void Unknown_MatchesNothing_AndDoesNotKnowWhatADirectoryHolds()
    {
        var index = Sample();

        Assert.False(index.Known);
        Assert.False(index.Matches("etc/hosts", Hash("hosts")));
        Assert.Null(index.ChildrenOf("etc"));
    }

    [Fact]
    public void Consumed_ForAnotherDisk_OrDamaged_OrCut_KnowsNothing()
    {
        Sample().Save(IndexPath, Disk);
        Assert.False(TreeIndex.Consume(IndexPath, OtherDisk).Known);

        Sample().Save(IndexPath, Disk);
        var bytes = File.ReadAllBytes(IndexPath);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(IndexPath, bytes);
        Assert.False(TreeIndex.Consume(IndexPath, Disk).Known);

        Sample().Save(IndexPath, Disk);
        bytes = File.ReadAllBytes(IndexPath);
        File.WriteAllBytes(IndexPath, bytes[..^20]);
        Assert.False(TreeIndex.Consume(IndexPath, Disk).Known);

        Assert.False(TreeIndex.Consume(_dir["missing.index"], Disk).Known);
    }

    [Fact]
    public void Forget_RemovesTheNameAndAllBeneathIt_UnsetKeepsWhatIsBeneath()
    {
        Sample().Save(IndexPath, Disk);
        var index = TreeIndex.Consume(IndexPath, Disk);

        index.Unset("etc");
        Assert.False(index.Matches("etc", Hash("etc")));
        Assert.True(index.Matches("etc/hosts", Hash("hosts")));

        index.Forget("etc");
        Assert.False(index.Matches("etc/hosts", Hash("hosts")));
        Assert.Equal(["var"], index.ChildrenOf("")!.Order(StringComparer.Ordinal));
        Assert.Empty(index.ChildrenOf("etc")!);
        Assert.Equal(2, index.Count);
    }

    private static TreeIndex Sample()
    {
        var index = TreeIndex.Unknown();
        index.Record("", Hash("root"));
        index.Record("etc", Hash("etc"));
        index.Record("etc/hosts", Hash("hosts"));
        index.Record("etc/fstab", Hash("fstab"));
        index.Record("var", Hash("var"));
        return index;
    }

    private static UInt128 Hash(string text) => TreeIndex.HashOf(System.Text.Encoding.UTF8.GetBytes(text));
}
