using System.Net.Sockets;
using System.Text;
using Ferry.Disks.Files;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Files;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// Files that change or vanish between the walk and the read: the sender announces a changed file
/// again (so the receiver ends with its new content and time) and skips a vanished one with a
/// warning; the tree completes either way.
/// </summary>
[Collection("loop devices")]
public sealed class FileSenderChangeTests
{
    [Fact]
    public async Task ChangedAndVanishedFiles_AreSentAgainOrSkipped_AndTheTreeCompletes()
    {
        Requires.Tool("mkfs.ext4");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["files"]);
        await File.WriteAllTextAsync(dir["files/stable"], "stable content");
        await File.WriteAllTextAsync(dir["files/grew"], "this file grew after the walk saw 3 bytes");
        // Whole seconds, so that the fake walk's times (100 ns ticks) are exact.
        File.SetLastWriteTimeUtc(dir["files/stable"], new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        File.SetLastWriteTimeUtc(dir["files/grew"], new DateTime(2024, 6, 7, 8, 9, 10, DateTimeKind.Utc));
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var session = await receiver.OpenFileSessionAsync("changes");
        var tree = new FakeTree(dir["files"]);
        var warnings = new List<string>();
        var progress = new TransferProgress();
        using var sender = new FileTreeSender(new TransferControl(), progress, w => { lock (warnings) { warnings.Add(w); } });

        await sender.SendAsync(async ct =>
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", receiver.Host.DataEndpoint.Port, ct);
            await tcp.GetStream().WriteAsync(DataPreamble.Cleartext.ToArray(), ct);
            return tcp.GetStream();
        }, session, [tree], CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(1, sender.Stats.ChangedWhileRead);
        Assert.Equal(1, sender.Stats.VanishedFiles);
        Assert.Contains(warnings, w => w.Contains("vanish", StringComparison.Ordinal));
        var root = Path.Combine(dir["out"], "changes", "work", "mnt", "0");
        Assert.Equal("stable content", await File.ReadAllTextAsync(Path.Combine(root, "stable")));
        Assert.Equal(await File.ReadAllTextAsync(dir["files/grew"]), await File.ReadAllTextAsync(Path.Combine(root, "grew")));
        Assert.Equal(File.GetLastWriteTimeUtc(dir["files/grew"]), File.GetLastWriteTimeUtc(Path.Combine(root, "grew")));
        Assert.False(File.Exists(Path.Combine(root, "gone")));
    }

    /// <summary>A tree whose walk is stale: "grew" is announced with 3 bytes and an old time, "gone" no longer exists when opened.</summary>
    private sealed class FakeTree(string directory) : ISourceTree
    {
        public uint Tree => 0;

        public IEnumerable<TreeItem> Walk()
        {
            yield return TreeItem.Of(new FileEntry { Path = ByteString.Empty, Kind = FileKind.Directory, Mode = 0x1ED, MtimeSeconds = 1_600_000_000 });
            yield return TreeItem.Of(Restat(Encoding.UTF8.GetBytes("stable"))!);
            yield return TreeItem.Of(new FileEntry { Path = ByteString.CopyFromUtf8("grew"), Kind = FileKind.Regular, Mode = 0x1A4, Size = 3, MtimeSeconds = 1_000 });
            yield return TreeItem.Of(new FileEntry { Path = ByteString.CopyFromUtf8("gone"), Kind = FileKind.Regular, Mode = 0x1A4, Size = 5, MtimeSeconds = 1_000 });
            yield return TreeItem.End([]);
        }

        public (SafeFileHandle Handle, FileStatus Status)? OpenFile(byte[] path)
        {
            var full = Path.Combine(directory, Encoding.UTF8.GetString(path));
            if (!File.Exists(full))
            {
                return null;
            }
            var handle = File.OpenHandle(full);
            return (handle, PosixFiles.Stat(handle));
        }

        public FileEntry? Restat(byte[] path)
        {
            var info = new FileInfo(Path.Combine(directory, Encoding.UTF8.GetString(path)));
            if (!info.Exists)
            {
                return null;
            }
            var ticks = info.LastWriteTimeUtc - DateTime.UnixEpoch;
            return new FileEntry
            {
                Path = ByteString.CopyFrom(path),
                Kind = FileKind.Regular,
                Mode = 0x1A4,
                Size = (ulong)info.Length,
                MtimeSeconds = (long)ticks.TotalSeconds,
                MtimeNanos = (uint)(ticks.Ticks % TimeSpan.TicksPerSecond * 100),
            };
        }
    }
}
