using System.Buffers.Binary;

namespace Ferry.Disks.Filesystems;

/// <summary>
/// The fields of an XFS superblock that Ferry needs (big-endian, at byte 0 of the filesystem;
/// layout from the XFS Algorithms and Data Structures book, "Superblocks").
/// </summary>
internal sealed record XfsSuperblock
{
    public required int BlockSize { get; init; }
    public required long DataBlocks { get; init; }
    public required long FreeDataBlocks { get; init; }
    public required long AgBlocks { get; init; }
    public required long AgCount { get; init; }
    public required int SectorSize { get; init; }
    public required bool IsV5 { get; init; }
    public required string? Uuid { get; init; }
    public required string? Label { get; init; }

    /// <summary>v5: sb_features_ro_compat (finobt 1, rmapbt 2, reflink 4, inobtcount 8).</summary>
    public uint RoCompat { get; init; }

    /// <summary>v5: sb_features_incompat (ftype 1, sparse inodes 2, meta_uuid 4, bigtime 8, needsrepair 16, nrext64 32).</summary>
    public uint Incompat { get; init; }

    /// <summary>
    /// The features mkfs.xfs can be told to make, as "name=0|1" settings of its -m and -i options, so
    /// that a new XFS matches the source (a newer mkfs.xfs's defaults, reflink, bigtime and inobtcount,
    /// keep an older kernel from mounting it).
    /// </summary>
    public IReadOnlyList<string> MkfsFeatures => !IsV5
        ? ["crc=0"]
        :
        [
            "crc=1", Flag("finobt", RoCompat, 0x1), Flag("rmapbt", RoCompat, 0x2), Flag("reflink", RoCompat, 0x4),
            Flag("inobtcount", RoCompat, 0x8), Flag("bigtime", Incompat, 0x8), Flag("sparse", Incompat, 0x2),
            .. (Incompat & 0x20) != 0 ? (string[])["nrext64=1"] : [],
        ];

    private static string Flag(string name, uint word, uint bit) => name + ((word & bit) != 0 ? "=1" : "=0");

    public static bool HasMagic(ReadOnlySpan<byte> sb) => sb.Length >= 4 && sb[..4].SequenceEqual("XFSB"u8);

    public static XfsSuperblock Parse(ReadOnlySpan<byte> sb)
    {
        if (sb.Length < 512 || !HasMagic(sb))
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, "not an XFS superblock");
        }
        var result = new XfsSuperblock
        {
            BlockSize = (int)BinaryPrimitives.ReadUInt32BigEndian(sb[4..]),
            DataBlocks = (long)BinaryPrimitives.ReadUInt64BigEndian(sb[8..]),
            Uuid = UuidText.FromBytes(sb.Slice(32, 16)),
            AgBlocks = BinaryPrimitives.ReadUInt32BigEndian(sb[84..]),
            AgCount = BinaryPrimitives.ReadUInt32BigEndian(sb[88..]),
            IsV5 = (BinaryPrimitives.ReadUInt16BigEndian(sb[100..]) & 0xF) == 5,
            SectorSize = BinaryPrimitives.ReadUInt16BigEndian(sb[102..]),
            Label = UuidText.Label(sb.Slice(108, 12)),
            FreeDataBlocks = (long)BinaryPrimitives.ReadUInt64BigEndian(sb[144..]),
            RoCompat = BinaryPrimitives.ReadUInt32BigEndian(sb[212..]),
            Incompat = BinaryPrimitives.ReadUInt32BigEndian(sb[216..]),
        };
        if (result.BlockSize is < 512 or > 65536 || (result.BlockSize & (result.BlockSize - 1)) != 0
            || result.SectorSize is < 512 or > 32768 || result.AgBlocks == 0 || result.AgCount == 0
            || result.DataBlocks > result.AgBlocks * result.AgCount)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, "XFS superblock geometry is inconsistent");
        }
        return result;
    }
}
