using System.Text.Json;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// The published native agent migrates a real loop-device disk (GPT, BIOS-boot, ext4 root, XFS data,
/// free space) to a receiver on loopback, and the image is proven equal where it matters.
/// </summary>
[Collection("loop devices")]
public sealed class BlockMigrationEndToEndTests
{
    [Fact]
    public async Task Migrate_GptDiskWithExt4AndXfs_ImageHasSameTableCleanFilesystemsAndIdenticalFiles()
    {
        using var dir = new TempDir();
        using var source = SourceDiskBuilder.Build(dir);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run([
            "migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "e2e-src", "--checksum", "--json-progress", "--format", "raw",
        ])).WaitAsync(TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, $"agent failed ({run.ExitCode}):\n{run.Stderr}");

        // Progress lines carry the documented fields; the last one says how much crossed the wire.
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(lines);
        foreach (var field in new[] { "phase", "disk", "done_bytes", "total_bytes", "wire_bytes", "speed_bps", "eta_s" })
        {
            Assert.True(lines[^1].TryGetProperty(field, out _), $"progress line lacks {field}: {lines[^1]}");
        }
        var wire = lines[^1].GetProperty("wire_bytes").GetInt64();
        var done = lines[^1].GetProperty("done_bytes").GetInt64();
        Assert.Equal("done", lines[^1].GetProperty("phase").GetString());
        // 1 GiB disk, ~40% of it partitioned free space or unpartitioned: far less than the disk crosses the wire.
        Assert.True(wire < SourceDiskBuilder.DiskBytes / 2, $"{wire} bytes on the wire for a {SourceDiskBuilder.DiskBytes}-byte disk");
        Assert.True(done < SourceDiskBuilder.DiskBytes / 2, $"{done} source bytes read for a {SourceDiskBuilder.DiskBytes}-byte disk");

        var image = Path.Combine(dir["out"], "e2e-src", Path.GetFileName(source.Device) + ".raw");
        Assert.True(File.Exists(image), "the image was not published at " + image);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir["out"], "e2e-src"), "*.partial"));
        Assert.Equal(SourceDiskBuilder.DiskBytes, new FileInfo(image).Length);

        using var target = LoopDisk.Create(image, 0, readOnly: true);
        Assert.Equal(Dump(source.Device), Dump(target.Device));
        Assert.Equal(0, Sh.Run("cmp", "-n", "1048576", source.Partition(1), target.Partition(1)).ExitCode);
        Sh.Run("e2fsck", "-fn", target.Partition(2)).Check("e2fsck -fn on the migrated root");
        Sh.Run("xfs_repair", "-n", target.Partition(3)).Check("xfs_repair -n on the migrated data partition");

        source.Mount(2, dir["a-root"], "ro");
        source.Mount(3, dir["a-data"], "ro");
        target.Mount(2, dir["b-root"], "ro");
        target.Mount(3, dir["b-data"], "ro,nouuid");
        var sourceRoot = TreeManifest.Of(dir["a-root"]);
        Assert.True(sourceRoot.Split('\n').Length > 3000, "the source tree is smaller than the test means it to be");
        Assert.Equal(sourceRoot, TreeManifest.Of(dir["b-root"]));
        Assert.Equal(TreeManifest.Of(dir["a-data"]), TreeManifest.Of(dir["b-data"]));
    }

    [Fact]
    public async Task Migrate_TwoMbrDisksUncompressed_CopiesLogicalPartitionsSwapVfatAndUnknownDataExactly()
    {
        Requires.Tool("mkfs.vfat");
        using var dir = new TempDir();
        using var first = LoopDisk.Create(dir["first.img"], 256L << 20, """
            label: dos
            size=32MiB, type=c, bootable
            type=5
            size=64MiB, type=83
            size=32MiB, type=82
            size=16MiB, type=da
            """);
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "logical", first.Partition(5)).Check("mkfs.ext4");
        Sh.Run("mkswap", "-L", "swap0", first.Partition(6)).Check("mkswap");
        // A partition of a type Ferry does not parse: half random data, half zeros, copied exactly.
        Sh.Bash($"head -c 8388608 /dev/urandom > {dir["unknown.bin"]} && dd if={dir["unknown.bin"]} of={first.Partition(7)} bs=1M conv=fsync status=none");
        // This kernel cannot mount vfat: the ESP is made in a file with mtools, then written to the partition.
        Requires.Tool("mcopy");
        Sh.Bash($"""
            truncate -s 32M {dir["esp.img"]} && mkfs.vfat -F 32 -n BOOT {dir["esp.img"]} >/dev/null
            head -c 300000 /dev/urandom > {dir["BOOTX64.EFI"]}
            mmd -i {dir["esp.img"]} ::/EFI ::/EFI/BOOT && mcopy -i {dir["esp.img"]} {dir["BOOTX64.EFI"]} ::/EFI/BOOT/
            dd if={dir["esp.img"]} of={first.Partition(1)} bs=1M conv=fsync status=none
            """);
        var logical = first.Mount(5, dir["logical"]);
        SourceDiskBuilder.Populate(logical, 200, seed: 3);
        first.UnmountAll();
        // The second disk has no partition table: one XFS filesystem on the whole disk.
        using var second = LoopDisk.Create(dir["second.img"], 320L << 20);
        Sh.Run("mkfs.xfs", "-q", "-f", "-L", "whole", second.Device).Check("mkfs.xfs");
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run([
            "migrate", .. receiver.AgentArgs(), "--disk", first.Device, "--disk", second.Device, "--source-name", "two", "--compress", "0", "--checksum", "--format", "raw",
        ])).WaitAsync(TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, $"agent failed ({run.ExitCode}):\n{run.Stderr}");

        using var firstCopy = LoopDisk.Create(Path.Combine(dir["out"], "two", Path.GetFileName(first.Device) + ".raw"), 0, readOnly: true);
        using var secondCopy = LoopDisk.Create(Path.Combine(dir["out"], "two", Path.GetFileName(second.Device) + ".raw"), 0, readOnly: true);
        Assert.Equal(Dump(first.Device), Dump(firstCopy.Device));
        // Partitions Ferry copies whole (vfat, unknown data) must be identical byte for byte.
        Assert.Equal(0, Sh.Run("cmp", first.Partition(1), firstCopy.Partition(1)).ExitCode);
        Assert.Equal(0, Sh.Run("cmp", first.Partition(7), firstCopy.Partition(7)).ExitCode);
        // Swap travels as its header page only: the copy must still be the same swap area.
        Assert.Equal(SwapIdentity(first.Partition(6)), SwapIdentity(firstCopy.Partition(6)));
        Sh.Run("fsck.vfat", "-n", firstCopy.Partition(1)).Check("fsck.vfat -n on the copied boot partition");
        Sh.Run("e2fsck", "-fn", firstCopy.Partition(5)).Check("e2fsck -fn on the copied logical partition");
        Sh.Run("xfs_repair", "-n", secondCopy.Device).Check("xfs_repair -n on the copied whole-disk XFS");

        first.Mount(5, dir["a-logical"], "ro");
        firstCopy.Mount(5, dir["b-logical"], "ro");
        Assert.Equal(TreeManifest.Of(dir["a-logical"]), TreeManifest.Of(dir["b-logical"]));
    }

    [Fact]
    public async Task Migrate_BitsFlippedInFlight_DamagedFramesAreRefusedAndSentAgainAndTheImageIsExact()
    {
        using var dir = new TempDir();
        using var source = LoopDisk.Create(dir["source.img"], 128L << 20, "label: gpt\nsize=100MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", source.Partition(1)).Check("mkfs.ext4");
        var root = source.Mount(1, dir["root"]);
        SourceDiskBuilder.Populate(root, 300, seed: 11);
        Sh.Bash($"head -c 30000000 /dev/urandom > {root}/random.bin");
        source.UnmountAll();
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        await using var proxy = new FaultProxy(receiver.Host.DataEndpoint.Port, new FaultPlan(FlipEvery: 7));
        var args = receiver.AgentArgs();
        args[Array.IndexOf(args, "--data-port") + 1] = proxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. args, "--disk", source.Device, "--source-name", "flip", "--format", "raw"]))
            .WaitAsync(TimeSpan.FromMinutes(5));

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(proxy.Flipped > 0, "the proxy damaged nothing: the test proves nothing");
        Assert.Matches(@"[1-9]\d* frame\(s\) arrived damaged at the receiver, were refused and sent again", run.Stderr);
        // Free space is zero on both sides (fresh filesystem), so the whole image must equal the source disk.
        Assert.Equal(0, Sh.Run("cmp", source.Device, Path.Combine(dir["out"], "flip", Path.GetFileName(source.Device) + ".raw")).ExitCode);
    }

    private static string SwapIdentity(string partition) =>
        Sh.Run("blkid", "-p", "-s", "TYPE", "-s", "UUID", "-s", "LABEL", "-o", "value", partition).Check("blkid").Stdout;

    /// <summary>sfdisk's dump without the device names, which differ between the two loop devices.</summary>
    private static string Dump(string device) =>
        string.Join('\n', Sh.Run("sfdisk", "--dump", device).Check("sfdisk --dump").Stdout.Split('\n')
            .Where(l => !l.StartsWith("device:", StringComparison.Ordinal))
            .Select(l => l.Replace(device, "DEV", StringComparison.Ordinal)));
}
