using System.Globalization;
using System.Text.Json;
using Ferry.Disks;
using Ferry.Disks.Partitions;
using Xunit;

namespace Ferry.Tests.Unit.Disks;

/// <summary>MBR and GPT parsing, checked against tables that the real sfdisk wrote into image files.</summary>
public sealed class PartitionTableReaderTests
{
    private const long DiskBytes = 256L << 20;

    [Fact]
    public void Read_GptWrittenBySfdisk_MatchesSfdiskJson()
    {
        using var dir = new TempDir();
        var image = Partitioned(dir, """
            label: gpt
            size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios"
            size=100MiB, type=L, name="root"
            size=50MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI"
            """);

        var table = Read(image);

        Assert.Equal(PartitionScheme.Gpt, table.Scheme);
        AssertMatchesSfdisk(image, table);
        Assert.True(table.Partitions[0].IsBiosBoot);
        Assert.True(table.Partitions[2].IsEfiSystem);
        // Boot areas: everything before the first partition, and the backup GPT at the end.
        Assert.Equal(new ByteRange(0, 1 << 20), table.BootAreas[0]);
        Assert.Equal(DiskBytes, table.BootAreas[^1].End);
        Assert.True(table.BootAreas[^1].Length is >= 33 * 512 and < 1 << 20);
    }

    [Fact]
    public void Read_GptWithDamagedPrimaryHeader_FallsBackToTheBackup()
    {
        using var dir = new TempDir();
        var image = Partitioned(dir, "label: gpt\nsize=10MiB, type=L\nsize=20MiB, type=L\n");
        using (var f = new FileStream(image, FileMode.Open))
        {
            f.Position = 512 + 24; // the primary header's own LBA field: its CRC no longer matches
            f.WriteByte(0x77);
        }

        var table = Read(image);

        Assert.Equal(PartitionScheme.Gpt, table.Scheme);
        AssertMatchesSfdisk(image, table);
    }

    [Fact]
    public void Read_MbrWithLogicalPartitions_MatchesSfdiskAndKeepsEachEbr()
    {
        using var dir = new TempDir();
        var image = Partitioned(dir, """
            label: dos
            size=20MiB, type=83, bootable
            type=5
            size=30MiB, type=83
            size=30MiB, type=82
            """);

        var table = Read(image);

        Assert.Equal(PartitionScheme.Mbr, table.Scheme);
        AssertMatchesSfdisk(image, table);
        Assert.Equal([1, 2, 5, 6], table.Partitions.Select(p => p.Number));
        Assert.True(table.Partitions[0].Bootable);
        Assert.True(table.Partitions[1].IsExtended);
        // Each logical partition's EBR (and the gap up to it) is sent as boot-area data.
        foreach (var logical in table.Partitions.Where(p => p.Number >= 5))
        {
            Assert.Contains(table.BootAreas, r => r.End == logical.StartBytes);
        }
    }

    [Fact]
    public void Read_BlankDisk_HasNoTable()
    {
        using var dir = new TempDir();
        var image = ImageFile.Create(dir["blank.img"], DiskBytes);

        Assert.Equal(PartitionScheme.None, Read(image).Scheme);
    }

    [Fact]
    public void Read_GptEntryArrayWithBadCrc_ThrowsCorrupt()
    {
        using var dir = new TempDir();
        var image = Partitioned(dir, "label: gpt\nsize=10MiB, type=L\n");
        // Damage both entry arrays (primary at LBA 2, backup before the last 33 sectors' header).
        using (var f = new FileStream(image, FileMode.Open))
        {
            f.Position = 1024 + 40;
            f.WriteByte(0x01);
            f.Position = DiskBytes - (33 * 512) + 40;
            f.WriteByte(0x01);
        }

        var e = Assert.Throws<DiskException>(() => Read(image));
        Assert.Equal(DiskError.Corrupt, e.Error);
    }

    private static string Partitioned(TempDir dir, string script)
    {
        Requires.Tool("sfdisk");
        var image = ImageFile.Create(dir["disk.img"], DiskBytes);
        Sh.Run("sfdisk", ["-q", image], script, TimeSpan.FromMinutes(1)).Check("sfdisk");
        return image;
    }

    private static PartitionTable Read(string image)
    {
        using var file = new ImageFile(image);
        return PartitionTableReader.Parse(o => file.Read(o, 512), file.Read, file.Length, 512);
    }

    private static void AssertMatchesSfdisk(string image, PartitionTable table)
    {
        var json = JsonDocument.Parse(Sh.Run("sfdisk", "--json", image).Check("sfdisk --json").Stdout).RootElement.GetProperty("partitiontable");
        Assert.Equal(json.GetProperty("id").GetString(), table.DiskId, ignoreCase: true);
        var theirs = json.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(theirs.Count, table.Partitions.Count);
        for (var i = 0; i < theirs.Count; i++)
        {
            var p = table.Partitions[i];
            Assert.Equal(theirs[i].GetProperty("start").GetInt64() * 512, p.StartBytes);
            Assert.Equal(theirs[i].GetProperty("size").GetInt64() * 512, p.SizeBytes);
            var type = theirs[i].GetProperty("type").GetString()!;
            Assert.Equal(type.Length <= 2 ? int.Parse(type, NumberStyles.HexNumber, CultureInfo.InvariantCulture).ToString("x2", CultureInfo.InvariantCulture) : type, p.Type);
            if (theirs[i].TryGetProperty("uuid", out var uuid))
            {
                Assert.Equal(uuid.GetString(), p.UniqueId);
            }
        }
    }
}
