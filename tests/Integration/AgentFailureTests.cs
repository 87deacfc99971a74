using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// Each way a client-only migration can be refused ends with a stable error code, a documented exit
/// code, a sentence naming the fix, and nothing written on the receiver.
/// </summary>
[Collection("loop devices")]
public sealed class AgentFailureTests
{
    private const string SmallLayout = """
        label: dos
        size=40MiB, type=83
        """;

    [Fact]
    public async Task Migrate_WrongToken_ExitsAuthFailedAndWritesNothing()
    {
        using var dir = new TempDir();
        using var disk = SmallDisk(dir);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs("not-the-token"), "--disk", disk.Device]))
            .WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("E_AUTH_FAILED", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("--token", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-token", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir["out"]));
    }

    [Fact]
    public async Task Migrate_ReceiverUnreachable_ExitsUnreachableNamingTheAddress()
    {
        using var dir = new TempDir();
        using var disk = SmallDisk(dir);

        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var run = await Task.Run(() => AgentBinary.Run(["migrate", "--receiver", "127.0.0.1", "--control-port", "1", "--token", "t", "--receiver-fingerprint", new string('0', 64), "--disk", disk.Device]))
            .WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(5, run.ExitCode);
        Assert.Contains("E_RECEIVER_UNREACHABLE", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_PathIsARegularFile_ExitsNotBlockDeviceAndWritesNothing()
    {
        using var dir = new TempDir();
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        File.WriteAllBytes(dir["plain.img"], new byte[1 << 20]);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", dir["plain.img"]]))
            .WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(4, run.ExitCode);
        Assert.Contains("E_NOT_BLOCK_DEVICE", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("is not a block device", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir["out"]));
    }

    [Fact]
    public async Task Migrate_ReceiverOutputTooSmall_ExitsTargetTooSmallSayingHowMuchAndWritesNothing()
    {
        using var dir = new TempDir();
        using var disk = SmallDisk(dir, fill: true);
        using var small = new Tmpfs(dir["small"], "16m");
        await using var receiver = await ReceiverFixture.StartAsync(small.Path);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device]))
            .WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(7, run.ExitCode);
        Assert.Contains("E_TARGET_TOO_SMALL", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("MiB free", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(small.Path));
    }

    [Fact]
    public void Migrate_CompressionOutOfRange_ExitsUsage()
    {
        var run = AgentBinary.Run("migrate", "--receiver", "127.0.0.1", "--token", "t", "--receiver-fingerprint", new string('0', 64), "--disk", "/dev/null", "--compress", "11");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("E_USAGE", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_ReceiverWithoutRoomToConvert_IsRefusedUpFrontSayingHowMuch_AndAfterSpaceIsFreedTheRetryIsExact()
    {
        using var dir = new TempDir();
        using var disk = SmallDisk(dir, fill: true);
        // Room for the ~33 MiB of data and the 64 MiB reserve, not for the qcow2 copy made beside the raw image.
        using var tight = new Tmpfs(dir["tight"], "112m");
        await using var receiver = await ReceiverFixture.StartAsync(tight.Path);

        var refused = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device, "--source-name", "tight"]))
            .WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(7, refused.ExitCode);
        Assert.Contains("E_TARGET_TOO_SMALL", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("converted to qcow2", refused.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"needs \d+ MiB", refused.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(tight.Path));

        // The operator frees space (here: a larger tmpfs); the same command now completes.
        tight.Resize("256m");
        var retry = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device, "--source-name", "tight"]))
            .WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(retry.ExitCode == 0, retry.Stderr);
        var image = Path.Combine(tight.Path, "tight", Path.GetFileName(disk.Device) + ".qcow2");
        Sh.Run("qemu-img", "compare", "-q", "-f", "raw", disk.Device, "-F", "qcow2", image).Check("qemu-img compare source and image");
    }

    [Fact]
    public async Task Migrate_SourceDiskWhoseBackingIsCutShort_StopsWithSourceReadNamingDiskAndOffset()
    {
        using var dir = new TempDir();
        using var disk = SmallDisk(dir, fill: true);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        // The loop device still says 64 MiB; past 40 MiB its backing file is gone, as a failing disk's unreadable region is.
        using (var backing = File.Open(dir["small.img"], FileMode.Open))
        {
            backing.SetLength(40L << 20);
        }

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device, "--source-name", "cut"]))
            .WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(run.ExitCode == 4, run.Stderr);
        Assert.Contains("E_SOURCE_READ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(disk.Device, run.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"offset \d+", run.Stderr);
        Assert.False(File.Exists(Path.Combine(dir["out"], "cut", Path.GetFileName(disk.Device) + ".qcow2")), "an image of an unreadable disk was stored");
    }

    /// <summary>A 64 MiB MBR disk with one ext4 partition; filled with random data when asked.</summary>
    private static LoopDisk SmallDisk(TempDir dir, bool fill = false)
    {
        var disk = LoopDisk.Create(dir["small.img"], 64L << 20, SmallLayout);
        Sh.Run("mkfs.ext4", "-q", "-F", disk.Partition(1)).Check("mkfs.ext4");
        if (fill)
        {
            var mount = disk.Mount(1, dir["fill"]);
            Sh.Bash($"head -c 30000000 /dev/urandom > {mount}/payload");
            disk.UnmountAll();
        }
        return disk;
    }
}
