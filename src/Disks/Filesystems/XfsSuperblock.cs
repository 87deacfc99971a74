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
