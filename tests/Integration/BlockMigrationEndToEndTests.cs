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
            "migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "e2e-src", "--checksum", "--json-progress",
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

    /// <summary>sfdisk's dump without the device names, which differ between the two loop devices.</summary>
    private static string Dump(string device) =>
        string.Join('\n', Sh.Run("sfdisk", "--dump", device).Check("sfdisk --dump").Stdout.Split('\n')
            .Where(l => !l.StartsWith("device:", StringComparison.Ordinal))
            .Select(l => l.Replace(device, "DEV", StringComparison.Ordinal)));
}
