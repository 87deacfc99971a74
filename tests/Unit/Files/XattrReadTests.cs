using System.Text;
using Ferry.Disks.Files;
using Xunit;

namespace Ferry.Tests.Unit.Files;

/// <summary>
/// Extended attributes as the walk reads them (by directory descriptor and name), against what
/// setfattr wrote: every attribute with its exact bytes, none for a plain file, and a symlink's own
/// attributes, never its target's.
/// </summary>
public sealed class XattrReadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ListXattrsAt_ReadsEveryAttributeOfTheName_AndNeverFollowsASymlink()
    {
        Requires.Tool("setfattr");
        File.WriteAllText(_dir["plain"], "no attributes");
        File.WriteAllText(_dir["tagged"], "two attributes");
        Sh.Run("setfattr", "-n", "user.origin", "-v", "source-server", _dir["tagged"]).Check("setfattr");
        Sh.Run("setfattr", "-n", "user.binary", "-v", "0x00ff10", _dir["tagged"]).Check("setfattr");
        File.CreateSymbolicLink(_dir["link"], _dir["tagged"]);
        using var dir = PosixFiles.OpenDirectory(_dir.Path);

        var tagged = PosixFiles.ListXattrsAt(dir, "tagged"u8).ToDictionary(x => Encoding.ASCII.GetString(x.Name), x => x.Value);

        Assert.Empty(PosixFiles.ListXattrsAt(dir, "plain"u8));
        Assert.Equal(2, tagged.Count);
        Assert.Equal("source-server"u8.ToArray(), tagged["user.origin"]);
        Assert.Equal(new byte[] { 0x00, 0xff, 0x10 }, tagged["user.binary"]);
        // The link itself has none (user.* cannot be set on a symlink); its target's are not its own.
        Assert.Empty(PosixFiles.ListXattrsAt(dir, "link"u8));
        Assert.Throws<PosixException>(() => PosixFiles.ListXattrsAt(dir, "missing"u8));
    }
}
