using System.Diagnostics;
using Ferry.Disks;
using Ferry.Disks.Planning;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>
/// Block copies of filesystems that are mounted read-write and being written: the agent copies live,
/// converges, freezes (FIFREEZE) for the last pass and thaws; the image equals the source as it was
/// frozen. A hook the agent runs while the filesystems are frozen takes the reference copy of the source.
/// </summary>
[Collection("loop devices")]
public sealed class ConsistencyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Migrate_MountedExt4AndXfsUnderAWriter_ImageEqualsTheSourceAsFrozen_FsckClean()
    {
        Requires.Tool("mkfs.xfs");
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["source.img"], 512L << 20, "label: gpt\nsize=160MiB, type=L\nsize=330MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", disk.Partition(1)).Check("mkfs.ext4");
        Sh.Run("mkfs.xfs", "-q", "-f", disk.Partition(2)).Check("mkfs.xfs");
        var ext4 = disk.Mount(1, dir["ext4"]);
        var xfs = disk.Mount(2, dir["xfs"]);
        SourceDiskBuilder.Populate(ext4, 200, seed: 3);
        Sh.Bash($"head -c 40000000 /dev/urandom > {xfs}/big.bin && sync");
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var frozen = dir["frozen.img"];
        using var writer = Writer(ext4, xfs);
        try
        {
            // 400 Mbit/s: a first pass of a few seconds, during which the writer changes a good part of both filesystems.
            var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device, "--source-name", "frozen", "--format", "raw",
                "--checksum", "--bandwidth", "400", "--frozen-hook", $"dd if={disk.Device} of={frozen} bs=4M status=none"])).WaitAsync(Patience);
            Assert.True(run.ExitCode == 0, run.Stderr);
            output.WriteLine(run.Stderr);
            Assert.Matches(@"Filesystems frozen for the last pass: \d+\.\d+ s \(bound 30 s\)", run.Stderr);
        }
        finally
        {
            writer.Kill(entireProcessTree: true);
            await writer.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.True(new FileInfo(frozen).Length == 512L << 20, "the frozen hook did not copy the source");

        // Every byte the filesystems used at the freeze is the same in the image.
        using var reference = LoopDisk.Create(frozen, 0, readOnly: true);
        var image = Path.Combine(dir["out"], "frozen", Path.GetFileName(disk.Device) + ".raw");
        long compared;
        using (var device = BlockDevice.OpenRead(reference.Device))
        {
            compared = CompareRanges(frozen, image, BlockPlanner.Plan(device).Ranges);
        }
        output.WriteLine($"{compared >> 20} MiB in use at the freeze, identical in the image");
        using var copy = LoopDisk.Create(image, 0);
        Sh.Run("e2fsck", "-fn", copy.Partition(1)).Check("e2fsck -fn on the image's ext4");
        // A frozen XFS keeps its last changes in its log (a freeze writes no unmount record), as after a crash: mounting
        // replays it, as the migrated server's first boot will. Then it must be clean.
        copy.Mount(2, dir["replay"], "nouuid");
        copy.UnmountAll();
        Sh.Run("xfs_repair", "-n", copy.Partition(2)).Check("xfs_repair -n on the image's XFS after its log was replayed");
    }

    [Fact]
    public async Task AgentKilledWhileFrozen_TheWatchdogThawsTheFilesystem()
    {
        using var dir = new TempDir();
        using var disk = MountedExt4(dir, seed: 5);
        var mnt = dir["mnt"];
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var marker = dir["frozen-now"];
        // The hook says the filesystem is frozen, then holds it so (longer than the test waits).
        var (agent, stderr) = AgentBinary.Start(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device, "--source-name", "killed", "--format", "raw",
            "--freeze-bound", "20", "--frozen-hook", $"touch {marker}; exec sleep 87.5"]);
        using (agent)
        {
            try
            {
                var started = Stopwatch.StartNew();
                Poll.Until(Patience, () => File.Exists(marker) || agent.HasExited, f => f, "the agent to freeze the filesystem");
                output.WriteLine($"frozen after {started.Elapsed.TotalSeconds:0.0} s");
                Assert.False(agent.HasExited, agent.HasExited ? await stderr : "");
                // A write waits while the filesystem is frozen, and goes through the moment it is thawed.
                using var write = Process.Start("touch", Path.Combine(mnt, "probe"));
                Assert.False(write.WaitForExit(TimeSpan.FromSeconds(1)), "a write went through: the filesystem is not frozen");

                var clock = Stopwatch.StartNew();
                agent.Kill();
                await write.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
                output.WriteLine($"killed while frozen: the waiting write went through {clock.Elapsed.TotalSeconds:0.000} s after the kill (bound 20 s)");
                Assert.Equal(0, write.ExitCode);
            }
            finally
            {
                Sh.Run("pkill", "-f", "sleep 87.5");
            }
        }
    }

    [Fact]
    public async Task Migrate_LastPassLongerThanTheBound_ThawsSaysSoAndSucceedsOnTheNextFreeze()
    {
        using var dir = new TempDir();
        using var disk = MountedExt4(dir, seed: 9);
        var mnt = dir["mnt"];
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var once = dir["slow-once"];
        // The first frozen pass takes longer than the 2 s bound (the hook sleeps); the next one does not.
        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", disk.Device, "--source-name", "bound", "--format", "raw",
            "--freeze-bound", "2", "--frozen-hook", $"[ -e {once} ] || {{ touch {once}; sleep 6; }}"])).WaitAsync(Patience);

        output.WriteLine(run.Stderr);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("did not fit in the 2 s freeze bound", run.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"Filesystems frozen for the last pass: [01]\.\d+ s \(bound 2 s\)", run.Stderr);
        Assert.Equal(0, Sh.Run("timeout", "5", "touch", Path.Combine(mnt, "writable")).ExitCode);
    }

    /// <summary>A 128 MiB disk with one ext4 partition, mounted read-write at DIR/mnt, holding a few hundred files.</summary>
    private static LoopDisk MountedExt4(TempDir dir, int seed)
    {
        var disk = LoopDisk.Create(dir["source.img"], 128L << 20, "label: gpt\nsize=100MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", disk.Partition(1)).Check("mkfs.ext4");
        SourceDiskBuilder.Populate(disk.Mount(1, dir["mnt"]), 50, seed);
        return disk;
    }

    /// <summary>A shell loop that keeps creating, rewriting and deleting files on both filesystems.</summary>
    internal static Process Writer(string ext4, string xfs)
    {
        var script = $$"""
            i=0
            while :; do
              i=$((i+1))
              head -c $(( (i % 7 + 1) * 16384 )) /dev/urandom > {{ext4}}/w$((i % 64))
              dd if=/dev/urandom of={{xfs}}/big.bin bs=64k count=2 seek=$((i % 600)) conv=notrunc status=none
              head -c 100000 /dev/urandom > {{xfs}}/n$((i % 40))
              rm -f {{ext4}}/w$(((i + 32) % 64)) {{xfs}}/n$(((i + 20) % 40))
            done
            """;
        var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        return Process.Start(psi)!;
    }

    /// <summary>Compares the bytes of <paramref name="ranges"/> in two image files; returns how many were compared.</summary>
    internal static long CompareRanges(string expected, string actual, IReadOnlyList<ByteRange> ranges)
    {
        using var a = File.OpenHandle(expected);
        using var b = File.OpenHandle(actual);
        var x = new byte[1 << 20];
        var y = new byte[1 << 20];
        long total = 0;
        foreach (var r in ranges)
        {
            for (var at = r.Offset; at < r.End; at += x.Length)
            {
                var n = (int)Math.Min(x.Length, r.End - at);
                Assert.Equal(n, RandomAccess.Read(a, x.AsSpan(0, n), at));
                Assert.Equal(n, RandomAccess.Read(b, y.AsSpan(0, n), at));
                Assert.True(x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, n)), $"the image differs from the frozen source in [{at}, +{n})");
                total += n;
            }
        }
        return total;
    }
}
