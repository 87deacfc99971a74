using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Ferry.Disks.Filesystems;

/// <summary>
/// Recognises the filesystems and volume signatures a Linux server carries, from their own
/// on-disk structures (the agent does not depend on blkid being installed on the source).
/// </summary>
public static class FilesystemProbe
{
    private const int BtrfsSuperblockOffset = 0x10000;
    private const int ProbeSpan = 8192;

    /// <summary>The filesystem or volume signature in <paramref name="region"/>, or null when none is known.</summary>
    public static FilesystemInfo? Probe(IByteReader region)
    {
        if (region.Length < 2048)
        {
            return null;
        }
        var head = new byte[(int)Math.Min(ProbeSpan, region.Length)];
        region.ReadExactly(head, 0);

        if (ExtSuperblock.HasMagic(head.AsSpan(ExtSuperblock.Offset)))
        {
            var ext = ExtSuperblock.Parse(head.AsSpan(ExtSuperblock.Offset, ExtSuperblock.Size));
            return new FilesystemInfo(ext.TypeName, ext.Uuid, ext.Label, ext.BlocksCount * ext.BlockSize, ext.BlockSize,
                (ext.BlocksCount - ext.FreeBlocks) * ext.BlockSize)
            {
                Features = ExtFeatures.Names(ext.Compat, ext.RoCompat, ext.Incompat),
                InodeSize = ext.InodeSize,
            };
        }
        if (XfsSuperblock.HasMagic(head))
        {
            var xfs = XfsSuperblock.Parse(head);
            return new FilesystemInfo("xfs", xfs.Uuid, xfs.Label, xfs.DataBlocks * xfs.BlockSize, xfs.BlockSize,
                (xfs.DataBlocks - xfs.FreeDataBlocks) * xfs.BlockSize)
            {
                Features = xfs.MkfsFeatures,
            };
        }
        return ProbeLvm(head) ?? ProbeSwap(head, region) ?? ProbeBtrfs(region) ?? ProbeVfat(head);
    }

    /// <summary>LVM2 physical volume: "LABELONE" in one of the first four sectors (lib/label/label.c).</summary>
    private static FilesystemInfo? ProbeLvm(byte[] head)
    {
        for (var sector = 0; sector < 4; sector++)
        {
            var label = head.AsSpan(sector * 512, 512);
            if (!label[..8].SequenceEqual("LABELONE"u8) || !label.Slice(24, 8).SequenceEqual("LVM2 001"u8))
            {
                continue;
            }
            var pvOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(label[20..]);
            if (pvOffset < 32 || pvOffset + 40 > 512)
            {
                return null;
            }
            var pv = label[pvOffset..];
            var id = Encoding.ASCII.GetString(pv[..32]);
            // blkid prints the 32-character id in groups of 6-4-4-4-4-4-6.
            var uuid = string.Join('-', id[..6], id[6..10], id[10..14], id[14..18], id[18..22], id[22..26], id[26..32]);
            var size = (long)BinaryPrimitives.ReadUInt64LittleEndian(pv[32..]);
            return new FilesystemInfo("LVM2_member", uuid, null, size, 512, null);
        }
        return null;
    }

    /// <summary>Linux swap v1: "SWAPSPACE2" ends the first page; the header follows the first KiB.</summary>
    private static FilesystemInfo? ProbeSwap(byte[] head, IByteReader region)
    {
        foreach (var page in new[] { 4096, 8192, 16384, 65536 })
        {
            if (page > region.Length)
            {
                break;
            }
            var tail = new byte[10];
            region.ReadExactly(tail, page - 10);
            if (!tail.AsSpan().SequenceEqual("SWAPSPACE2"u8))
            {
                continue;
            }
            var lastPage = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(1028));
            return new FilesystemInfo("swap", UuidText.FromBytes(head.AsSpan(1036, 16)), UuidText.Label(head.AsSpan(1052, 16)),
                ((long)lastPage + 1) * page, page, null);
        }
        return null;
    }

    private static FilesystemInfo? ProbeBtrfs(IByteReader region)
    {
        if (region.Length < BtrfsSuperblockOffset + 4096)
        {
            return null;
        }
        var sb = new byte[4096];
        region.ReadExactly(sb, BtrfsSuperblockOffset);
        if (!sb.AsSpan(0x40, 8).SequenceEqual("_BHRfS_M"u8))
        {
            return null;
        }
        var total = (long)BinaryPrimitives.ReadUInt64LittleEndian(sb.AsSpan(0x70));
        var used = (long)BinaryPrimitives.ReadUInt64LittleEndian(sb.AsSpan(0x78));
        var sectorSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x90));
        return new FilesystemInfo("btrfs", UuidText.FromBytes(sb.AsSpan(0x20, 16)), UuidText.Label(sb.AsSpan(0x12B, 256)),
            total, sectorSize, used);
    }

    /// <summary>FAT12/16/32 boot sector (Microsoft's FAT specification, "BPB").</summary>
    private static FilesystemInfo? ProbeVfat(byte[] head)
    {
        var b = head.AsSpan(0, 512);
        if (b[510] != 0x55 || b[511] != 0xAA || (b[0] != 0xEB && b[0] != 0xE9))
        {
            return null;
        }
        var bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(b[0x0B..]);
        var perCluster = b[0x0D];
        var fats = b[0x10];
        if (bytesPerSector is not (512 or 1024 or 2048 or 4096) || perCluster == 0 || (perCluster & (perCluster - 1)) != 0
            || fats is 0 or > 2 || BinaryPrimitives.ReadUInt16LittleEndian(b[0x0E..]) == 0)
        {
            return null;
        }
        var fat32 = BinaryPrimitives.ReadUInt16LittleEndian(b[0x16..]) == 0;
        var total16 = BinaryPrimitives.ReadUInt16LittleEndian(b[0x13..]);
        var sectors = total16 != 0 ? total16 : BinaryPrimitives.ReadUInt32LittleEndian(b[0x20..]);
        var idOffset = fat32 ? 0x43 : 0x27;
        var labelOffset = fat32 ? 0x47 : 0x2B;
        var id = BinaryPrimitives.ReadUInt32LittleEndian(b[idOffset..]);
        var label = UuidText.Label(b.Slice(labelOffset, 11), trimSpaces: true);
        var uuid = (id >> 16).ToString("X4", CultureInfo.InvariantCulture) + "-" + (id & 0xFFFF).ToString("X4", CultureInfo.InvariantCulture);
        return new FilesystemInfo("vfat", uuid, label == "NO NAME" ? null : label, (long)sectors * bytesPerSector, bytesPerSector, null);
    }
}
