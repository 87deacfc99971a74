using System.Globalization;
using System.Text.RegularExpressions;
using Ferry.Disks;
using Ferry.Disks.Allocation;
using Xunit;

namespace Ferry.Tests.Unit.Disks;

/// <summary>
/// The used-block maps read by the agent, checked against the filesystems' own tools: every block
/// that dumpe2fs or xfs_db does not call free must be in the map (or the copy would lose data), and
/// the map may add nothing beyond the always-copied boot area.
/// </summary>
public sealed partial class AllocationMapTests
{
    private const int BootArea = 64 * 1024;

    [Theory]
    [InlineData("-O ^has_journal", 320)]
    [InlineData("", 320)]
    [InlineData("-b 1024 -O ^64bit,^flex_bg", 200)]
    [InlineData("-O meta_bg,^resize_inode", 400)]
    [InlineData("-t ext2", 200)]
    [InlineData("-G 4 -g 8192 -b 1024", 300)]
    public void ExtReadUsed_PopulatedFilesystem_IsExactlyTheNonFreeBlocks(string options, int sizeMiB)
    {
        Requires.Tool("mkfs.ext4");
        Requires.Tool("dumpe2fs");
        using var dir = new TempDir();
        var content = Directory.CreateDirectory(dir["content"]).FullName;
        for (var i = 0; i < 300; i++)
        {
            File.WriteAllBytes(Path.Combine(content, $"f{i}"), new byte[(i * 7919) % 200_000 + 1]);
        }
        var image = ImageFile.Create(dir["ext.img"], (long)sizeMiB << 20);
        Sh.Run("mkfs.ext4", ["-q", "-F", .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-d", content, image], null, TimeSpan.FromMinutes(1))
            .Check("mkfs.ext4");

        using var file = new ImageFile(image);
        var used = ExtAllocationMap.ReadUsed(file);

        var dump = Sh.Run("dumpe2fs", image).Check("dumpe2fs").Stdout;
        var blockSize = int.Parse(BlockSizeLine().Match(dump).Groups[1].Value, CultureInfo.InvariantCulture);
        var blocks = long.Parse(BlockCountLine().Match(dump).Groups[1].Value, CultureInfo.InvariantCulture);
        var free = new RangeList();
        foreach (Match m in FreeBlocksLine().Matches(dump))
        {
            foreach (var part in m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var ends = part.Split('-').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
                free.Add(ends[0] * blockSize, ((ends.Length == 2 ? ends[1] : ends[0]) - ends[0] + 1) * blockSize);
            }
        }
        var expected = Complement(free.ToMerged(), blocks * blockSize);
        var expectedWithBoot = new RangeList();
        expectedWithBoot.AddRange(expected);
        expectedWithBoot.Add(0, BootArea);

        Assert.Equal(expectedWithBoot.ToMerged(blocks * blockSize), used);
    }

    [Fact]
    public void XfsReadUsed_FreshFilesystem_LeavesExactlyTheFreeSpaceXfsDbCounts()
    {
        Requires.Tool("mkfs.xfs");
        Requires.Tool("xfs_db");
        using var dir = new TempDir();
        var image = ImageFile.Create(dir["xfs.img"], 600L << 20);
        Sh.Run("mkfs.xfs", "-q", "-f", "-d", "agcount=4", image).Check("mkfs.xfs");

        using var file = new ImageFile(image);
        var used = XfsAllocationMap.ReadUsed(file);

        var db = Sh.Run("xfs_db", "-r", "-c", "sb 0", "-c", "p blocksize dblocks", "-c", "freesp -s",
            "-c", "agf 0", "-c", "p flcount", "-c", "agf 1", "-c", "p flcount", "-c", "agf 2", "-c", "p flcount", "-c", "agf 3", "-c", "p flcount", image).Check("xfs_db").Stdout;
        var blockSize = long.Parse(Regex.Match(db, @"blocksize = (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var dataBlocks = long.Parse(Regex.Match(db, @"dblocks = (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var freeBlocks = long.Parse(Regex.Match(db, @"total free blocks (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

        // freesp counts the AG free lists' blocks as free; the map keeps them (they belong to the free-space btrees).
        var freeListBlocks = Regex.Matches(db, @"flcount = (\d+)").Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

        Assert.Equal((dataBlocks - freeBlocks + freeListBlocks) * blockSize, RangeList.TotalLength(used));
        Assert.Equal(0, used[0].Offset);
        Assert.True(RangeList.TotalLength(used) < file.Length / 4, "a fresh XFS (metadata and a 64 MiB log) should be mostly free");
    }

    [Fact]
    public void AddSetBits_MixedBitmap_GivesOneRangePerRun()
    {
        // Bits 0-2 set, 3-7 clear, byte 1 all set, byte 2 clear, bit 24 set.
        byte[] bitmap = [0b0000_0111, 0xFF, 0x00, 0b0000_0001];
        var used = new RangeList();

        ExtAllocationMap.AddSetBits(bitmap, 25, firstBlock: 100, blockSize: 4096, used);

        Assert.Equal([new ByteRange(100 * 4096, 3 * 4096), new ByteRange(108 * 4096, 8 * 4096), new ByteRange(124 * 4096, 4096)], used.ToMerged());
    }

    private static List<ByteRange> Complement(List<ByteRange> ranges, long end)
    {
        var result = new List<ByteRange>();
        var cursor = 0L;
        foreach (var r in ranges)
        {
            if (r.Offset > cursor)
            {
                result.Add(new ByteRange(cursor, r.Offset - cursor));
            }
            cursor = r.End;
        }
        if (cursor < end)
        {
            result.Add(new ByteRange(cursor, end - cursor));
        }
        return result;
    }

    [GeneratedRegex(@"^Block size:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex BlockSizeLine();

    [GeneratedRegex(@"^Block count:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex BlockCountLine();

    [GeneratedRegex(@"^\s+Free blocks: (.*)$", RegexOptions.Multiline)]
    private static partial Regex FreeBlocksLine();
}
