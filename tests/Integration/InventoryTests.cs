using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// `agent inventory --json` parses partition tables and filesystem signatures itself; on real loop
/// disks it must agree with sfdisk --json and blkid -p (there is no udev here, so not lsblk).
/// </summary>
[Collection("loop devices")]
public sealed class InventoryTests
{
    [Fact]
    public void Inventory_GptDiskWithExt4XfsVfatSwap_MatchesSfdiskAndBlkid()
    {
        Requires.Tool("mkfs.vfat");
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["gpt.img"], 1L << 30, """
            label: gpt
            size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios"
            size=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"
            size=200MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
            size=320MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"
            size=64MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
            """);
        Sh.Run("mkfs.vfat", "-n", "ESP", disk.Partition(2)).Check("mkfs.vfat");
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "rootfs", disk.Partition(3)).Check("mkfs.ext4");
        Sh.Run("mkfs.xfs", "-q", "-f", "-L", "data", disk.Partition(4)).Check("mkfs.xfs");
        Sh.Run("mkswap", "-L", "swap0", disk.Partition(5)).Check("mkswap");

        AssertMatches(disk, expectedFilesystems: 4);
    }

    [Fact]
    public void Inventory_MbrDiskWithLogicalPartitions_MatchesSfdiskAndBlkid()
    {
        Requires.Tool("mkfs.vfat");
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["mbr.img"], 512L << 20, """
            label: dos
            size=64MiB, type=c, bootable
            type=5
            size=100MiB, type=83
            size=100MiB, type=82
            """);
        Sh.Run("mkfs.vfat", "-F", "32", "-n", "BOOT", disk.Partition(1)).Check("mkfs.vfat");
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "logical", disk.Partition(5)).Check("mkfs.ext4");
        Sh.Run("mkswap", disk.Partition(6)).Check("mkswap");

        AssertMatches(disk, expectedFilesystems: 3);
    }

    private static void AssertMatches(LoopDisk disk, int expectedFilesystems)
    {
        var run = AgentBinary.Run("inventory", "--json", disk.Device);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var ours = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("disks")[0];
        var table = JsonDocument.Parse(Sh.Run("sfdisk", "--json", disk.Device).Check("sfdisk --json").Stdout).RootElement.GetProperty("partitiontable");

        Assert.Equal(table.GetProperty("label").GetString(), ours.GetProperty("partition_table").GetString());
        Assert.Equal(table.GetProperty("id").GetString(), ours.GetProperty("disk_id").GetString(), ignoreCase: true);
        var theirs = table.GetProperty("partitions").EnumerateArray().ToList();
        var mine = ours.GetProperty("partitions").EnumerateArray().ToDictionary(p => p.GetProperty("path").GetString()!);
        Assert.Equal(theirs.Count, mine.Count);

        var filesystems = 0;
        foreach (var p in theirs)
        {
            var node = p.GetProperty("node").GetString()!;
            Assert.True(mine.TryGetValue(node, out var m), $"inventory lacks {node}");
            Assert.Equal(p.GetProperty("start").GetInt64() * 512, m.GetProperty("start_bytes").GetInt64());
            Assert.Equal(p.GetProperty("size").GetInt64() * 512, m.GetProperty("size_bytes").GetInt64());
            Assert.Equal(NormaliseType(p.GetProperty("type").GetString()!), NormaliseType(m.GetProperty("type").GetString()!));
            if (p.TryGetProperty("uuid", out var uuid))
            {
                Assert.Equal(uuid.GetString(), m.GetProperty("uuid").GetString(), ignoreCase: true);
            }
            if (p.TryGetProperty("name", out var name))
            {
                Assert.Equal(name.GetString(), m.GetProperty("name").GetString());
            }

            var blkid = Blkid(node);
            var fs = m.GetProperty("filesystem");
            if (!blkid.TryGetValue("TYPE", out var type))
            {
                Assert.Equal(JsonValueKind.Null, fs.ValueKind);
                continue;
            }
            filesystems++;
            Assert.Equal(type, fs.GetProperty("type").GetString());
            Assert.Equal(blkid.GetValueOrDefault("UUID"), fs.GetProperty("uuid").GetString());
            Assert.Equal(blkid.GetValueOrDefault("LABEL"), fs.GetProperty("label").GetString());
            Assert.True(fs.GetProperty("size_bytes").GetInt64() <= m.GetProperty("size_bytes").GetInt64());
        }
        Assert.Equal(expectedFilesystems, filesystems);
    }

    private static Dictionary<string, string> Blkid(string node)
    {
        // blkid -p exits 2 when it finds no signature: that is an answer, not a failure.
        var run = Sh.Run("blkid", "-p", "-o", "export", node);
        return run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1]);
    }

    /// <summary>sfdisk prints MBR types without leading zeros ("5"), the agent as two hex digits ("05").</summary>
    private static string NormaliseType(string type) =>
        type.Length <= 2 ? int.Parse(type, NumberStyles.HexNumber, CultureInfo.InvariantCulture).ToString("x2", CultureInfo.InvariantCulture) : type.ToUpperInvariant();
}
