using System.Buffers.Binary;

namespace Ferry.Disks.Filesystems;

/// <summary>
/// The fields of an ext2/3/4 superblock that Ferry needs. Layout: the kernel's
/// Documentation/filesystems/ext4/super.rst; the superblock is 1,024 bytes at byte 1,024.
/// </summary>
internal sealed record ExtSuperblock
{
    public const int Offset = 1024;
    public const int Size = 1024;
    private const ushort Magic = 0xEF53;

    public const uint CompatHasJournal = 0x4;
    public const uint CompatSparseSuper2 = 0x200;
    public const uint IncompatRecover = 0x4;
    public const uint IncompatJournalDev = 0x8;
    public const uint IncompatMetaBg = 0x10;
    public const uint Incompat64Bit = 0x80;
    public const uint RoCompatSparseSuper = 0x1;
    public const uint RoCompatGdtCsum = 0x10;
    public const uint RoCompatMetadataCsum = 0x400;

    public required long BlocksCount { get; init; }
    public required long FreeBlocks { get; init; }
    public required long FirstDataBlock { get; init; }
    public required int BlockSize { get; init; }
    public required long BlocksPerGroup { get; init; }
    public required long InodesPerGroup { get; init; }
    public required int InodeSize { get; init; }
    public required uint Compat { get; init; }
    public required uint Incompat { get; init; }
    public required uint RoCompat { get; init; }
    public required int ReservedGdtBlocks { get; init; }
    public required int DescriptorSize { get; init; }
    public required long FirstMetaBg { get; init; }
    public required uint BackupGroup0 { get; init; }
    public required uint BackupGroup1 { get; init; }
    public required string? Uuid { get; init; }
    public required string? Label { get; init; }

    public long GroupCount => (BlocksCount - FirstDataBlock + BlocksPerGroup - 1) / BlocksPerGroup;

    /// <summary>Groups whose block bitmap may be uninitialised (BLOCK_UNINIT is honoured only with checksums).</summary>
    public bool HasGroupChecksums => (RoCompat & (RoCompatGdtCsum | RoCompatMetadataCsum)) != 0;

    /// <summary>blkid's naming: ext2 and ext3 only while no later feature is in use.</summary>
    public string TypeName
    {
        get
        {
            const uint ext2RoSupported = 0x1 | 0x2 | 0x4;
            const uint ext2IncompatSupported = 0x2 | IncompatMetaBg;
            const uint ext3IncompatSupported = ext2IncompatSupported | IncompatRecover;
            if ((RoCompat & ~ext2RoSupported) != 0)
            {
                return "ext4";
            }
            if ((Compat & CompatHasJournal) == 0)
            {
                return (Incompat & ~ext2IncompatSupported) == 0 ? "ext2" : "ext4";
            }
            return (Incompat & ~ext3IncompatSupported) == 0 ? "ext3" : "ext4";
        }
    }

    public static bool HasMagic(ReadOnlySpan<byte> sb) =>
        sb.Length >= 0x3A && BinaryPrimitives.ReadUInt16LittleEndian(sb[0x38..]) == Magic;

    /// <summary>Parses the 1,024-byte superblock, or throws when its geometry is impossible.</summary>
    public static ExtSuperblock Parse(ReadOnlySpan<byte> sb)
    {
        if (sb.Length < Size || !HasMagic(sb))
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, "not an ext2/3/4 superblock");
        }
        var incompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x60..]);
        var is64 = (incompat & Incompat64Bit) != 0;
        var logBlock = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x18..]);
        if (logBlock > 6)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, $"ext superblock: block size 2^{10 + logBlock} is out of range");
        }
        var blocks = (long)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x04..])
            | (is64 ? (long)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x150..]) << 32 : 0);
        var free = (long)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x0C..])
            | (is64 ? (long)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x158..]) << 32 : 0);
        var revLevel = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x4C..]);
        var descSize = is64 ? BinaryPrimitives.ReadUInt16LittleEndian(sb[0xFE..]) : 32;
        var result = new ExtSuperblock
        {
            BlocksCount = blocks,
            FreeBlocks = free,
            FirstDataBlock = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x14..]),
            BlockSize = 1024 << (int)logBlock,
            BlocksPerGroup = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x20..]),
            InodesPerGroup = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x28..]),
            InodeSize = revLevel == 0 ? 128 : BinaryPrimitives.ReadUInt16LittleEndian(sb[0x58..]),
            Compat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x5C..]),
            Incompat = incompat,
            RoCompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x64..]),
            ReservedGdtBlocks = BinaryPrimitives.ReadUInt16LittleEndian(sb[0xCE..]),
            DescriptorSize = descSize < 32 ? 32 : descSize,
            FirstMetaBg = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x104..]),
            BackupGroup0 = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x24C..]),
            BackupGroup1 = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x250..]),
            Uuid = UuidText.FromBytes(sb.Slice(0x68, 16)),
            Label = UuidText.Label(sb.Slice(0x78, 16)),
        };
        if (result.BlocksPerGroup == 0 || result.BlocksPerGroup > 8L * result.BlockSize
            || result.FirstDataBlock >= result.BlocksCount || result.DescriptorSize > 1024
            || (result.DescriptorSize & (result.DescriptorSize - 1)) != 0 || result.InodeSize < 128)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, "ext superblock geometry is inconsistent");
        }
        return result;
    }

    /// <summary>Whether group <paramref name="group"/> holds a superblock copy (and with it a GDT copy).</summary>
    public bool GroupHasSuperblock(long group)
    {
        if (group == 0)
        {
            return true;
        }
        if ((Compat & CompatSparseSuper2) != 0)
        {
            return group == BackupGroup0 || group == BackupGroup1;
        }
        if ((RoCompat & RoCompatSparseSuper) == 0 || group == 1)
        {
            return true;
        }
        return IsPowerOf(group, 3) || IsPowerOf(group, 5) || IsPowerOf(group, 7);
    }

    private static bool IsPowerOf(long value, int b)
    {
        var p = (long)b;
        while (p < value)
        {
            p *= b;
        }
        return p == value;
    }
}
