using System.Buffers.Binary;
using Ferry.Disks.Filesystems;

namespace Ferry.Disks.Allocation;

/// <summary>
/// The used blocks of an XFS filesystem: every block of every allocation group minus the free
/// extents recorded in the group's by-block-number free-space B+tree (the AGF's bnobt root).
/// Layout: XFS Algorithms and Data Structures, "AG Free Space Management".
/// </summary>
public static class XfsAllocationMap
{
    private const uint AgfMagic = 0x58414746;      // "XAGF"
    private const uint BnoMagicV4 = 0x41425442;    // "ABTB"
    private const uint BnoMagicV5 = 0x41423342;    // "AB3B"
    private const int ShortHeaderV4 = 16;
    private const int ShortHeaderV5 = 56;
    private const int MaxLevels = 16;

    public static List<ByteRange> ReadUsed(IByteReader fs)
    {
        var raw = new byte[512];
        fs.ReadExactly(raw, 0);
        var sb = XfsSuperblock.Parse(raw);
        var bs = sb.BlockSize;
        var fsBytes = Math.Min(fs.Length, sb.DataBlocks * bs);
        var used = new RangeList();
        var agf = new byte[sb.SectorSize];
        var block = new byte[bs];
        for (var ag = 0L; ag < sb.AgCount; ag++)
        {
            var agStart = ag * sb.AgBlocks * bs;
            fs.ReadExactly(agf, agStart + sb.SectorSize);
            if (BinaryPrimitives.ReadUInt32BigEndian(agf) != AgfMagic || BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(8)) != ag)
            {
                throw new DiskException(DiskError.Corrupt, string.Empty, $"XFS AG {ag}: bad AGF header");
            }
            var agLength = (long)BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(12));
            var root = BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(16));
            var levels = (int)BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(28));
            if (agLength > sb.AgBlocks || levels is < 1 or > MaxLevels)
            {
                throw new DiskException(DiskError.Corrupt, string.Empty, $"XFS AG {ag}: AGF length or tree height out of range");
            }
            var free = new List<(long Start, long Length)>();
            Walk(fs, sb, ag, agLength, root, levels - 1, block, free);
            free.Sort((a, b) => a.Start.CompareTo(b.Start));

            var cursor = 0L;
            foreach (var (start, length) in free)
            {
                if (start < cursor)
                {
                    throw new DiskException(DiskError.Corrupt, string.Empty, $"XFS AG {ag}: free extents overlap at block {start}");
                }
                used.Add(agStart + (cursor * bs), (start - cursor) * bs);
                cursor = start + length;
            }
            used.Add(agStart + (cursor * bs), (agLength - cursor) * bs);
        }
        return used.ToMerged(fsBytes);
    }

    private static void Walk(IByteReader fs, XfsSuperblock sb, long ag, long agLength, uint agBlock, int expectedLevel,
        byte[] block, List<(long, long)> free)
    {
        if (agBlock == 0 || agBlock >= agLength)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, $"XFS AG {ag}: free-space tree points at block {agBlock}");
        }
        var bs = sb.BlockSize;
        fs.ReadExactly(block, ((ag * sb.AgBlocks) + agBlock) * bs);
        var magic = BinaryPrimitives.ReadUInt32BigEndian(block);
        var header = magic == BnoMagicV5 ? ShortHeaderV5 : magic == BnoMagicV4 ? ShortHeaderV4 : 0;
        var level = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(4));
        var count = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(6));
        var maxRecords = (bs - header) / (level == 0 ? 8 : 12);
        if (header == 0 || level != expectedLevel || count > maxRecords)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, $"XFS AG {ag}: block {agBlock} is not a valid free-space tree node");
        }
        if (level == 0)
        {
            for (var i = 0; i < count; i++)
            {
                var start = (long)BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(header + (i * 8)));
                var length = (long)BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(header + (i * 8) + 4));
                if (length == 0 || start + length > agLength)
                {
                    throw new DiskException(DiskError.Corrupt, string.Empty, $"XFS AG {ag}: free extent {start}+{length} is out of range");
                }
                free.Add((start, length));
            }
            return;
        }
        // Internal node: keys first, then the child pointers after room for maxRecords keys.
        var pointers = new uint[count];
        var pointerBase = header + (maxRecords * 8);
        for (var i = 0; i < count; i++)
        {
            pointers[i] = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(pointerBase + (i * 4)));
        }
        foreach (var child in pointers)
        {
            Walk(fs, sb, ag, agLength, child, expectedLevel - 1, block, free);
        }
    }
}
