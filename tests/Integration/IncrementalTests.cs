using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>
/// An incremental block job on loop devices: a full first cycle, then cycles that send only the 4 KiB
/// regions that differ from the receiver's digest; the receiver keeps the last K cycles' images, each
/// of which must pass fsck, and after the cut-over the last equals the source.
/// </summary>
[Collection("loop devices")]
public sealed partial class IncrementalTests(ITestOutputHelper output)
{
    private const long DiskBytes = 520L << 20;

    [Fact]
    public async Task ThreeCycles_OnePercentChangedBetweenCycles_LaterCyclesSendAboutTheChangedBytes_KeptImagesAreCleanAndTheLastEqualsTheSource()
    {
        using var dir = new TempDir();
        using var source = LoopDisk.Create(dir["source.img"], DiskBytes, "label: gpt\nsize=150MiB, type=L\ntype=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", "-b", "4096", source.Partition(1)).Check("mkfs.ext4");
        Sh.Run("mkfs.xfs", "-q", "-f", source.Partition(2)).Check("mkfs.xfs");
        var ext4 = source.Mount(1, dir["ext4"]);
        var xfs = source.Mount(2, dir["xfs"]);
        SourceDiskBuilder.Populate(ext4, 400, seed: 5);
        Sh.Bash($"head -c 80000000 /dev/urandom > {ext4}/data.bin && head -c 80000000 /dev/urandom > {xfs}/data.bin");
        source.UnmountAll();
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var name = Path.GetFileName(source.Device);
        string[] Args(params string[] more) =>
            ["migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "incr", "--format", "raw", "--checksum", "--incremental", "--keep", "2", .. more];

        var first = RunCycle(Args("--cycles", "1"), 1);
        Assert.True(first > 150L << 20, $"the first cycle is a full copy, yet sent only {first} bytes");

        // Between cycles the receiver's working image is damaged where the data lies: its digest no longer
        // matches, so the receiver hashes the image again, and the damaged region is sent again (never skipped).
        var work = Path.Combine(dir["out"], "incr", "incremental", name + ".raw");
        var block = Sh.Run("debugfs", "-R", "bmap /data.bin 0", source.Partition(1));
        block.Check("debugfs bmap");
        var damagedAt = (1L << 20) + (long.Parse(block.Stdout.Trim(), CultureInfo.InvariantCulture) * 4096);
        Sh.Run("dd", "if=/dev/zero", $"of={work}", "bs=4096", "count=4", $"seek={damagedAt / 4096}", "conv=notrunc,fsync", "status=none").Check("damage the working image");

        var changed = ChangeOnePercent(source, dir, seed: 1);
        var second = RunCycle(Args("--cycles", "1"), 2);
        output.WriteLine($"cycle 2: {changed} bytes of the disk changed (+16 KiB damaged on the receiver), sent {second} bytes");
        Assert.InRange(second, changed + 16384, (changed * 12 / 10) + 16384);

        changed = ChangeOnePercent(source, dir, seed: 2);
        var third = RunCycle(Args("--cutover"), 3);
        output.WriteLine($"cycle 3 (cut-over): {changed} bytes of the disk changed, sent {third} bytes");
        Assert.InRange(third, changed, changed * 12 / 10);

        var kept = Directory.GetDirectories(Path.Combine(dir["out"], "incr"), "cycle-*").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["cycle-000002", "cycle-000003"], kept);
        Assert.False(Directory.Exists(Path.Combine(dir["out"], "incr", "incremental")), "the cut-over left the working images behind");
        foreach (var cycle in kept)
        {
            using var image = LoopDisk.Create(Path.Combine(dir["out"], "incr", cycle!, name + ".raw"), 0, readOnly: true);
            Sh.Run("e2fsck", "-fn", image.Partition(1)).Check($"e2fsck -fn on {cycle}");
            Sh.Run("xfs_repair", "-n", image.Partition(2)).Check($"xfs_repair -n on {cycle}");
        }
        // Fresh filesystems and changes made in place: free space is zeros on both sides, so the whole disk must match.
        var last = Path.Combine(dir["out"], "incr", "cycle-000003", name + ".raw");
        Assert.Equal(0, Sh.Run("cmp", source.Device, last).ExitCode);
        // The manifest's hash of the sparse image (its holes hashed without being read) is the file's SHA-256.
        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["out"], "incr", "cycle-000003", "manifest.json")));
        Assert.Equal(Sh.Run("sha256sum", last).Check("sha256sum").Stdout.Split(' ')[0], manifest.RootElement.GetProperty("disks")[0].GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task CycleOfMountedFilesystemsUnderAWriter_ComparesWithTheDigestConvergesFreezes_ImageEqualsTheSourceAsFrozen()
    {
        using var dir = new TempDir();
        using var source = LoopDisk.Create(dir["source.img"], DiskBytes, "label: gpt\nsize=150MiB, type=L\ntype=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", source.Partition(1)).Check("mkfs.ext4");
        Sh.Run("mkfs.xfs", "-q", "-f", source.Partition(2)).Check("mkfs.xfs");
        var ext4 = source.Mount(1, dir["ext4"]);
        var xfs = source.Mount(2, dir["xfs"]);
        SourceDiskBuilder.Populate(ext4, 200, seed: 4);
        Sh.Bash($"head -c 60000000 /dev/urandom > {xfs}/big.bin && sync");
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var frozen = dir["frozen.img"];
        string[] Args(params string[] more) =>
            ["migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "live", "--format", "raw", "--checksum", "--incremental", "--cycles", "1", .. more];

        // The first cycle of mounted filesystems is consistent too (frozen for its last pass).
        var first = AgentBinary.Run(Args());
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Matches(@"Filesystems frozen for the last pass", first.Stderr);

        using var writer = ConsistencyTests.Writer(ext4, xfs);
        Sh.Result second;
        try
        {
            second = await Task.Run(() => AgentBinary.Run(Args("--bandwidth", "400", "--frozen-hook", $"dd if={source.Device} of={frozen} bs=4M status=none")))
                .WaitAsync(TimeSpan.FromMinutes(3));
        }
        finally
        {
            writer.Kill(entireProcessTree: true);
            await writer.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        output.WriteLine(second.Stdout + second.Stderr);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Matches(@"Filesystems frozen for the last pass: \d+\.\d+ s \(bound 30 s\)", second.Stderr);
        Assert.Matches(@"Cycle 2: sent \d+ bytes", second.Stdout);

        using var reference = LoopDisk.Create(frozen, 0, readOnly: true);
        var image = Path.Combine(dir["out"], "live", "cycle-000002", Path.GetFileName(source.Device) + ".raw");
        long compared;
        using (var device = Ferry.Disks.BlockDevice.OpenRead(reference.Device))
        {
            compared = ConsistencyTests.CompareRanges(frozen, image, Ferry.Disks.Planning.BlockPlanner.Plan(device).Ranges);
        }
        output.WriteLine($"{compared >> 20} MiB in use at the freeze, identical in cycle 2's image");
        using var copy = LoopDisk.Create(image, 0);
        Sh.Run("e2fsck", "-fn", copy.Partition(1)).Check("e2fsck -fn on cycle 2's ext4");
        copy.Mount(2, dir["replay"], "nouuid");
        copy.UnmountAll();
        Sh.Run("xfs_repair", "-n", copy.Partition(2)).Check("xfs_repair -n on cycle 2's XFS after its log was replayed");
    }

    /// <summary>Runs one cycle and returns the bytes it sent; checks the receiver's number for it.</summary>
    private long RunCycle(string[] args, int expectedCycle)
    {
        var run = AgentBinary.Run(args);
        Assert.True(run.ExitCode == 0, $"agent failed ({run.ExitCode}):\n{run.Stderr}");
        var m = CycleLine().Match(run.Stdout);
        Assert.True(m.Success, "no cycle line in the agent's output:\n" + run.Stdout);
        output.WriteLine(m.Value);
        Assert.Equal(expectedCycle, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        return long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Rewrites 1% of the data in place (64 KiB pieces at random offsets of both data files); returns the
    /// bytes of the disk that changed, in 4 KiB blocks (the files, their metadata, the ext4 journal and the XFS log).
    /// </summary>
    private long ChangeOnePercent(LoopDisk source, TempDir dir, int seed)
    {
        var before = dir["before.img"];
        File.Copy(source.Image, before, overwrite: true);
        var random = new Random(seed);
        var ext4 = source.Mount(1, dir["ext4"]);
        var xfs = source.Mount(2, dir["xfs"]);
        long changed = 0;
        var budget = (160L << 20) / 100;
        for (var i = 0; changed < budget; i++)
        {
            var file = i % 2 == 0 ? $"{ext4}/data.bin" : $"{xfs}/data.bin";
            // Never the first 64 KiB of a file: that is where the receiver's copy was damaged, which the cycle must mend by itself.
            var block = random.NextInt64(1, (80_000_000 / 65536) - 1);
            Sh.Run("dd", "if=/dev/urandom", $"of={file}", "bs=65536", "count=1", $"seek={block}", "conv=notrunc", "status=none").Check("rewrite");
            changed += 65536;
        }
        source.UnmountAll();
        var blocks = ChangedBlocks(before, source.Image);
        output.WriteLine($"rewrote {changed} bytes of file data; {blocks * 4096} bytes of the disk changed");
        return blocks * 4096;
    }

    private static long ChangedBlocks(string a, string b)
    {
        using var x = File.OpenHandle(a);
        using var y = File.OpenHandle(b);
        var bx = new byte[1 << 20];
        var by = new byte[1 << 20];
        long changed = 0;
        for (long offset = 0; offset < DiskBytes; offset += bx.Length)
        {
            RandomAccess.Read(x, bx, offset);
            RandomAccess.Read(y, by, offset);
            for (var i = 0; i < bx.Length; i += 4096)
            {
                changed += bx.AsSpan(i, 4096).SequenceEqual(by.AsSpan(i, 4096)) ? 0 : 1;
            }
        }
        return changed;
    }

    [GeneratedRegex(@"Cycle (\d+)[^:]*: sent (\d+) bytes")]
    private static partial Regex CycleLine();
}
