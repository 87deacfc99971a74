using System.Buffers.Binary;
using Ferry.Disks.Filesystems;

namespace Ferry.Disks.Allocation;

/// <summary>
/// The used blocks of an ext2/3/4 filesystem, from its block bitmaps (kernel
/// Documentation/filesystems/ext4/blockgroup.rst and group_descr.rst).
/// </summary>
/// <remarks>
/// A group flagged BLOCK_UNINIT has no bitmap on disk; its used blocks are its superblock and
/// descriptor copies plus whatever group metadata (bitmaps, inode tables) was placed in it, so the
/// metadata locations of every group are added whatever the bitmaps say.
/// </remarks>
public static class ExtAllocationMap
{
    private const ushort BlockUninit = 0x2;
    private const int BootAreaBytes = 64 * 1024;

    public static List<ByteRange> ReadUsed(IByteReader fs)
    {
        var raw = new byte[ExtSuperblock.Size];
        fs.ReadExactly(raw, ExtSuperblock.Offset);
        var sb = ExtSuperblock.Parse(raw);
        var bs = sb.BlockSize;
        var fsBytes = Math.Min(fs.Length, sb.BlocksCount * bs);
        var groups = sb.GroupCount;
        var descriptors = ReadDescriptors(fs, sb, groups);
        var inodeTableBlocks = ((sb.InodesPerGroup * sb.InodeSize) + bs - 1) / bs;
        var descPerBlock = bs / sb.DescriptorSize;
        var gdtBlocks = (groups + descPerBlock - 1) / descPerBlock;
        var metaBg = (sb.Incompat & ExtSuperblock.IncompatMetaBg) != 0;

        var used = new RangeList();
        // Boot sector, superblock and group 0's descriptors: also covers the 1 KiB-block layout's block 0.
        used.Add(0, Math.Min(BootAreaBytes, fsBytes));
        var bitmap = new byte[bs];
        for (var g = 0L; g < groups; g++)
        {
            var d = descriptors.AsSpan((int)(g * sb.DescriptorSize), sb.DescriptorSize);
            var blockBitmap = Read64(d, 0x00, 0x20, sb.DescriptorSize);
            var inodeBitmap = Read64(d, 0x04, 0x24, sb.DescriptorSize);
            var inodeTable = Read64(d, 0x08, 0x28, sb.DescriptorSize);
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(d[0x12..]);
            CheckBlock(sb, blockBitmap, 1, g);
            CheckBlock(sb, inodeBitmap, 1, g);
            CheckBlock(sb, inodeTable, inodeTableBlocks, g);
            used.Add(blockBitmap * bs, bs);
            used.Add(inodeBitmap * bs, bs);
            used.Add(inodeTable * bs, inodeTableBlocks * bs);

            var groupStart = sb.FirstDataBlock + (g * sb.BlocksPerGroup);
            var groupBlocks = Math.Min(sb.BlocksPerGroup, sb.BlocksCount - groupStart);
            if (sb.HasGroupChecksums && (flags & BlockUninit) != 0)
            {
                if (sb.GroupHasSuperblock(g))
                {
                    var copy = 1 + (metaBg ? 0 : gdtBlocks + sb.ReservedGdtBlocks);
                    used.Add(groupStart * bs, Math.Min(copy, groupBlocks) * bs);
                }
                continue;
            }

            fs.ReadExactly(bitmap, blockBitmap * bs);
            AddSetBits(bitmap, groupBlocks, groupStart, bs, used);
        }
        if (metaBg)
        {
            AddMetaBgDescriptorBlocks(sb, groups, descPerBlock, used);
        }
        return used.ToMerged(fsBytes);
    }

    /// <summary>Turns the set bits of one group's bitmap into byte ranges, a run at a time.</summary>
    internal static void AddSetBits(ReadOnlySpan<byte> bitmap, long bits, long firstBlock, int blockSize, RangeList used)
    {
        var runStart = -1L;
        for (var i = 0L; i < bits;)
        {
            // Whole bytes of 0x00 or 0xFF are the common case: step over them 8 bits at a time.
            if ((i & 7) == 0 && i + 8 <= bits)
            {
                var b = bitmap[(int)(i >> 3)];
                if (b == 0xFF)
                {
                    if (runStart < 0)
                    {
                        runStart = i;
                    }
                    i += 8;
                    continue;
                }
                if (b == 0)
                {
                    if (runStart >= 0)
                    {
                        used.Add((firstBlock + runStart) * blockSize, (i - runStart) * blockSize);
                        runStart = -1;
                    }
                    i += 8;
                    continue;
                }
            }
            var set = (bitmap[(int)(i >> 3)] & (1 << (int)(i & 7))) != 0;
            if (set && runStart < 0)
            {
                runStart = i;
            }
            else if (!set && runStart >= 0)
            {
                used.Add((firstBlock + runStart) * blockSize, (i - runStart) * blockSize);
                runStart = -1;
            }
            i++;
        }
        if (runStart >= 0)
        {
            used.Add((firstBlock + runStart) * blockSize, (bits - runStart) * blockSize);
        }
    }

    private static byte[] ReadDescriptors(IByteReader fs, ExtSuperblock sb, long groups)
    {
        var bs = sb.BlockSize;
        var descPerBlock = bs / sb.DescriptorSize;
        var blocks = (groups + descPerBlock - 1) / descPerBlock;
        var all = new byte[checked((int)(blocks * bs))];
        var metaBg = (sb.Incompat & ExtSuperblock.IncompatMetaBg) != 0;
        for (var i = 0L; i < blocks; i++)
        {
            long block;
            if (!metaBg || i < sb.FirstMetaBg)
            {
                block = sb.FirstDataBlock + 1 + i;
            }
            else
            {
                // META_BG: descriptor block i sits in the first group of meta group i (after its superblock copy).
                var group = i * descPerBlock;
                block = sb.FirstDataBlock + (group * sb.BlocksPerGroup) + (sb.GroupHasSuperblock(group) ? 1 : 0);
            }
            CheckBlock(sb, block, 1, -1);
            fs.ReadExactly(all.AsSpan((int)(i * bs), bs), block * bs);
        }
        return all;
    }

    /// <summary>META_BG keeps descriptor copies in the first, second and last group of each meta group.</summary>
    private static void AddMetaBgDescriptorBlocks(ExtSuperblock sb, long groups, long descPerBlock, RangeList used)
    {
        var metaGroups = (groups + descPerBlock - 1) / descPerBlock;
        for (var m = sb.FirstMetaBg; m < metaGroups; m++)
        {
            foreach (var group in new[] { m * descPerBlock, (m * descPerBlock) + 1, (m * descPerBlock) + descPerBlock - 1 })
            {
                if (group < groups)
                {
                    var block = sb.FirstDataBlock + (group * sb.BlocksPerGroup) + (sb.GroupHasSuperblock(group) ? 1 : 0);
                    used.Add(block * sb.BlockSize, sb.BlockSize);
                }
            }
        }
    }

    private static long Read64(ReadOnlySpan<byte> d, int lo, int hi, int descSize) =>
        BinaryPrimitives.ReadUInt32LittleEndian(d[lo..])
        | (descSize >= 64 ? (long)BinaryPrimitives.ReadUInt32LittleEndian(d[hi..]) << 32 : 0);

    private static void CheckBlock(ExtSuperblock sb, long block, long count, long group)
    {
        if (block <= 0 || block + count > sb.BlocksCount)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty,
                $"ext group {group}: metadata block {block} (+{count}) lies outside the filesystem of {sb.BlocksCount} blocks");
        }
    }
}
