using System.IO.Hashing;
using Ferry.Disks;

namespace Ferry.Transfer.Blocks;

/// <summary>
/// The unit incremental block replication compares in: a disk is cut into 4 KiB regions (the block
/// size of ext4 and XFS, so that a changed filesystem block costs one region on the wire), each
/// named by its XXH3-128. The receiver keeps one hash per region of what its image holds; the
/// agent hashes the source's regions and sends those whose hash differs.
/// </summary>
public static class RegionDigest
{
    public const int RegionBytes = 4096;

    public const int HashBytes = 16;

    /// <summary>The hash of a region the receiver holds nothing known of: it never matches, so the region is sent.</summary>
    public static UInt128 Unknown => UInt128.Zero;

    public static UInt128 Hash(ReadOnlySpan<byte> region) => XxHash128.HashToUInt128(region);

    /// <summary>How many regions a disk of <paramref name="sizeBytes"/> has (the last one may be shorter).</summary>
    public static long Count(long sizeBytes) => (sizeBytes + RegionBytes - 1) / RegionBytes;

    /// <summary>The bytes of region <paramref name="index"/> on a disk of <paramref name="sizeBytes"/>.</summary>
    public static int LengthOf(long index, long sizeBytes) => (int)Math.Min(RegionBytes, sizeBytes - (index * RegionBytes));

    /// <summary>
    /// Widens sorted ranges to whole regions, so that every chunk read covers whole regions whose
    /// hashes can be compared (what lies around used blocks in a region is read with them).
    /// </summary>
    public static List<ByteRange> AlignOut(IEnumerable<ByteRange> ranges, long sizeBytes)
    {
        var aligned = new RangeList();
        foreach (var r in ranges)
        {
            var start = r.Offset / RegionBytes * RegionBytes;
            var end = Math.Min(sizeBytes, (r.End + RegionBytes - 1) / RegionBytes * RegionBytes);
            aligned.Add(start, end - start);
        }
        return aligned.ToMerged(sizeBytes);
    }
}
