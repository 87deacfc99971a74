using System.Text;
using Ferry.Disks;
using Ferry.Disks.Filesystems;
using Xunit;

namespace Ferry.Tests.Unit.Disks;

/// <summary>The agent's own signature parsing agrees with blkid -p on filesystems the real mkfs tools made.</summary>
public sealed class FilesystemProbeTests
{
    [Theory]
    [InlineData("mkfs.ext4", "-q -F -L rootfs")]
    [InlineData("mkfs.ext4", "-q -F -b 1024 -O ^64bit,^flex_bg")]
    [InlineData("mkfs.ext3", "-q -F -L old3")]
    [InlineData("mkfs.ext2", "-q -F")]
    [InlineData("mkfs.xfs", "-q -f -L data")]
    [InlineData("mkfs.vfat", "-n ESP")]
    [InlineData("mkfs.vfat", "-F 32 -n BOOT32")]
    [InlineData("mkswap", "-L swap0")]
    [InlineData("mkfs.btrfs", "-q -f -L pool")]
    public void Probe_FilesystemMadeByMkfs_MatchesBlkid(string mkfs, string options)
    {
        Requires.Tool(mkfs);
        Requires.Tool("blkid");
        using var dir = new TempDir();
        var image = ImageFile.Create(dir["fs.img"], 320L << 20);
        Sh.Run(mkfs, [.. options.Split(' '), image], null, TimeSpan.FromMinutes(1)).Check(mkfs);
        var blkid = Sh.Run("blkid", "-p", "-o", "export", image).Check("blkid").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);

        using var file = new ImageFile(image);
        var fs = FilesystemProbe.Probe(file);

        Assert.NotNull(fs);
        Assert.Equal(blkid["TYPE"], fs.Type);
        Assert.Equal(blkid.GetValueOrDefault("UUID"), fs.Uuid);
        Assert.Equal(blkid.GetValueOrDefault("LABEL"), fs.Label);
        Assert.InRange(fs.SizeBytes, 1, file.Length);
    }

    [Theory]
    [InlineData("mkfs.ext4", "-q -F")]
    [InlineData("mkfs.ext4", "-q -F -b 1024 -I 128 -O ^64bit,^flex_bg,^metadata_csum,uninit_bg,quota")]
    [InlineData("mkfs.ext3", "-q -F")]
    [InlineData("mkfs.ext2", "-q -F")]
    public void Probe_ExtFilesystem_NamesTheFeaturesAsDumpe2fsDoes(string mkfs, string options)
    {
        Requires.Tool(mkfs);
        Requires.Tool("dumpe2fs");
        using var dir = new TempDir();
        var image = ImageFile.Create(dir["fs.img"], 64L << 20);
        Sh.Run(mkfs, [.. options.Split(' '), image], null, TimeSpan.FromMinutes(1)).Check(mkfs);
        var line = Sh.Run("dumpe2fs", "-h", image).Check("dumpe2fs").Stdout.Split('\n').Single(l => l.StartsWith("Filesystem features:", StringComparison.Ordinal));
        // dumpe2fs also lists state (needs_recovery) and spells extents "extent"; both sides are compared as sets.
        var expected = line["Filesystem features:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();

        using var file = new ImageFile(image);
        var fs = FilesystemProbe.Probe(file)!;

        Assert.Equal(expected.Order(), fs.Features.Order());
        Assert.Equal(options.Contains("-I 128", StringComparison.Ordinal) ? 128 : 256, fs.InodeSize);
    }

    [Theory]
    [InlineData("-q -f", "crc=1 finobt=1 rmapbt=0 reflink=1 inobtcount=1 bigtime=1 sparse=1")]
    [InlineData("-q -f -m reflink=0,bigtime=0,inobtcount=0,rmapbt=1 -i sparse=0", "crc=1 finobt=1 rmapbt=1 reflink=0 inobtcount=0 bigtime=0 sparse=0")]
    public void Probe_Xfs_ReportsTheSettingsMkfsXfsMadeItWith(string options, string expected)
    {
        Requires.Tool("mkfs.xfs");
        using var dir = new TempDir();
        var image = ImageFile.Create(dir["fs.img"], 320L << 20);
        Sh.Run("mkfs.xfs", [.. options.Split(' '), image], null, TimeSpan.FromMinutes(1)).Check("mkfs.xfs");

        using var file = new ImageFile(image);
        Assert.Equal(expected, string.Join(' ', FilesystemProbe.Probe(file)!.Features));
    }

    [Fact]
    public void Probe_LvmPhysicalVolumeLabel_ReportsLvm2MemberWithBlkidStyleUuid()
    {
        // Recorded layout of a PV label as pvcreate writes it (sector 1: label header, then pv_header).
        var image = new byte[1 << 20];
        var label = image.AsSpan(512);
        "LABELONE"u8.CopyTo(label);
        BitConverter.TryWriteBytes(label[20..], 32);
        "LVM2 001"u8.CopyTo(label[24..]);
        Encoding.ASCII.GetBytes("aBcDeF1234567890aBcDeF1234567890").CopyTo(label[32..]);
        BitConverter.TryWriteBytes(label[64..], 1L << 30);

        var fs = FilesystemProbe.Probe(new MemoryByteReader(image));

        Assert.NotNull(fs);
        Assert.Equal("LVM2_member", fs.Type);
        Assert.Equal("aBcDeF-1234-5678-90aB-cDeF-1234-567890", fs.Uuid);
        Assert.Equal(1L << 30, fs.SizeBytes);
    }

    [Fact]
    public void Probe_ZeroedRegion_FindsNothing()
    {
        Assert.Null(FilesystemProbe.Probe(new MemoryByteReader(new byte[1 << 20])));
    }
}
