using System.IO.Hashing;
using System.Net.Sockets;
using System.Text;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// A receiver fed crafted file entries by a hostile agent: escaping paths, symlinks that a later
/// entry tries to go through, hard links to outside. Each is refused with E_PATH_UNSAFE and nothing
/// is written outside the target root; the receiver then still applies a clean tree.
/// </summary>
[Collection("loop devices")]
public sealed class HostileAgentFileTests
{
    [Fact]
    public async Task CraftedEntries_AreRefusedAndNothingIsWrittenOutsideTheTargetRoot()
    {
        Requires.Tool("mkfs.ext4");
        using var dir = new TempDir();
        var outside = dir["outside"];
        Directory.CreateDirectory(outside);
        var sentinel = Path.Combine(outside, "sentinel");
        await File.WriteAllTextAsync(sentinel, "untouched");
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var session = await receiver.OpenFileSessionAsync("hostile");
        var root = Path.Combine(dir["out"], "hostile", "work", "mnt", "0");
        var before = Snapshot(dir.Path, root);

        // Each crafted entry comes on a connection of its own: the receiver closes one after refusing.
        string[] escapes = ["../escape", "/etc/ferry-escape", "a/../../escape", "bad\0name", "./x", "x//y", ".ferry-partial/1"];
        foreach (var path in escapes)
        {
            Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session, Regular(path, "pwned")));
        }
        Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session,
            Entry("evil", FileKind.Symlink, link: outside), Regular("evil/file", "pwned")));
        Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session,
            Entry("evil2", FileKind.Symlink, link: "../../../../../../../../" + outside), Entry("evil2/sub", FileKind.Directory)));
        Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session, Entry("hl", FileKind.Hardlink, link: "../../../../../../etc/passwd")));
        Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session, Entry("hl", FileKind.Hardlink, link: "/etc/passwd")));
        Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session,
            Entry("evil3", FileKind.Symlink, link: "/etc"), Entry("hl", FileKind.Hardlink, link: "evil3/passwd")));
        Assert.Equal("E_PATH_UNSAFE", await SendAsync(receiver, session,
            Entry("evil4", FileKind.Symlink, link: outside), Entry("evil4/fifo", FileKind.Fifo)));
        // A regular file replacing a symlink to outside replaces the link, never what it points at.
        Assert.Equal("OK", await SendAsync(receiver, session, Entry("s", FileKind.Symlink, link: sentinel)));
        Assert.Equal("OK", await SendAsync(receiver, session, Regular("s", "inside")));

        Assert.Equal("untouched", await File.ReadAllTextAsync(sentinel));
        Assert.Equal(["sentinel"], Directory.GetFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.False(File.Exists("/etc/ferry-escape"));
        Assert.Equal(before, Snapshot(dir.Path, root));
        Assert.Equal("inside", await File.ReadAllTextAsync(Path.Combine(root, "s")));
        Assert.False(new FileInfo(Path.Combine(root, "s")).Attributes.HasFlag(FileAttributes.ReparsePoint));

        // A malformed entry is a protocol error, not a crash.
        Assert.Equal("E_PROTOCOL", await SendRawEntryAsync(receiver, session, [0xFF, 0xFF, 0xFF]));
    }

    private static FileEntry Entry(string path, FileKind kind, string? link = null, ulong size = 0) => new()
    {
        Path = ByteString.CopyFrom(Encoding.UTF8.GetBytes(path)),
        Kind = kind,
        Mode = kind == FileKind.Directory ? 0x1EDu : 0x1A4u,
        MtimeSeconds = 1_600_000_000,
        Size = size,
        Link = link is null ? ByteString.Empty : ByteString.CopyFrom(Encoding.UTF8.GetBytes(link)),
    };

    private static (FileEntry Entry, byte[] Content) Regular(string path, string content) =>
        (Entry(path, FileKind.Regular, size: (ulong)Encoding.UTF8.GetByteCount(content)), Encoding.UTF8.GetBytes(content));

    private static Task<string> SendAsync(ReceiverFixture receiver, SessionCredentials session, params FileEntry[] entries) =>
        SendAsync(receiver, session, entries.Select(e => (e, Array.Empty<byte>())).ToArray());

    private static Task<string> SendAsync(ReceiverFixture receiver, SessionCredentials session, FileEntry first, (FileEntry Entry, byte[] Content) second) =>
        SendAsync(receiver, session, [(first, []), second]);

    private static Task<string> SendAsync(ReceiverFixture receiver, SessionCredentials session, (FileEntry Entry, byte[] Content) one) =>
        SendAsync(receiver, session, [one]);

    /// <summary>Sends the root, the entries (with their content when asked), the root's end and the tree's end; returns the receiver's error code or OK.</summary>
    private static async Task<string> SendAsync(ReceiverFixture receiver, SessionCredentials session, (FileEntry Entry, byte[] Content)[] entries)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", receiver.Host.DataEndpoint.Port);
        var stream = tcp.GetStream();
        using var writer = new FrameWriter(stream);
        var reader = new FrameReader(stream);
        await ReceiverFixture.IntroduceAsync(stream, writer, session);
        await WriteEntryAsync(writer, Entry("", FileKind.Directory), 0);
        ulong id = 0;
        foreach (var (entry, content) in entries)
        {
            id++;
            await WriteEntryAsync(writer, entry, entry.Kind == FileKind.Regular ? id : 0);
            if (entry.Kind != FileKind.Regular)
            {
                continue;
            }
            using var need = await reader.ReadAsync(default);
            if (need!.Header.Type == FrameType.Error)
            {
                return FrameWriter.ParseError(need.Payload).Code;
            }
            Assert.Equal(FrameType.Need, need.Header.Type);
            var checksum = XxHash3.HashToUInt64(content);
            await writer.WriteControlAsync(new FrameHeader(FrameType.FileData, FrameFlags.None, 0, (uint)content.Length, 0, id, checksum, 0), content, default);
            await writer.WriteControlAsync(new FrameHeader(FrameType.FileEnd, FrameFlags.None, 0, 0, (ulong)content.Length, id, checksum, 0), [], default);
            using var ack = await reader.ReadAsync(default);
            Assert.Equal(FrameType.FileAck, ack!.Header.Type);
        }
        try
        {
            await writer.WriteControlAsync(new FrameHeader(FrameType.DirEnd, FrameFlags.None, 0, 0, 0, 0, 0, 0), [], default);
            await writer.WriteControlAsync(new FrameHeader(FrameType.TreeEnd, FrameFlags.None, 0, 0, 0, 0, 0, 0), [], default);
        }
        catch (IOException)
        {
            // The receiver refused an entry and closed; its Error frame is waiting to be read.
        }
        using var reply = await reader.ReadAsync(default).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return reply!.Header.Type switch
        {
            FrameType.TreeAck => "OK",
            FrameType.Error => FrameWriter.ParseError(reply.Payload).Code,
            var other => other.ToString(),
        };
    }

    private static async Task<string> SendRawEntryAsync(ReceiverFixture receiver, SessionCredentials session, byte[] payload)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", receiver.Host.DataEndpoint.Port);
        var stream = tcp.GetStream();
        using var writer = new FrameWriter(stream);
        await ReceiverFixture.IntroduceAsync(stream, writer, session);
        await writer.WriteControlAsync(new FrameHeader(FrameType.Entry, FrameFlags.None, 0, 0, 0, 0, 0, 0), payload, default);
        using var reply = await new FrameReader(stream).ReadAsync(default).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return reply!.Header.Type == FrameType.Error ? FrameWriter.ParseError(reply.Payload).Code : reply.Header.Type.ToString();
    }

    private static Task WriteEntryAsync(FrameWriter writer, FileEntry entry, ulong id) =>
        writer.WriteControlAsync(new FrameHeader(FrameType.Entry, FrameFlags.None, 0, 0, 0, id, 0, 0), entry.ToByteArray(), default).AsTask();

    /// <summary>Every path under <paramref name="top"/> outside the target root, with its size: what a hostile stream must not change.</summary>
    private static string Snapshot(string top, string root) =>
        Sh.Run("find", top, "-path", root, "-prune", "-o", "-not", "-name", "*.raw", "-printf", "%p %s\n").Check("find").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).Aggregate("", (a, l) => a + l + "\n");
}
