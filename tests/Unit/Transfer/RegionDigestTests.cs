using Ferry.Disks;
using Ferry.Transfer.Blocks;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

public sealed class RegionDigestTests
{
    private const int Region = RegionDigest.RegionBytes;

    /// <summary>Ten whole regions and 1000 bytes: the last region is short.</summary>
    private const long DiskBytes = (10 * Region) + 1000;

    [Fact]
    public void AlignOut_RangeInsideARegion_WidensToTheWholeRegion()
    {
        var aligned = RegionDigest.AlignOut([new ByteRange(Region + 100, 200)], DiskBytes);

        Assert.Equal([new ByteRange(Region, Region)], aligned);
    }

    [Fact]
    public void AlignOut_RangeAcrossRegions_WidensBothEnds()
    {
        var aligned = RegionDigest.AlignOut([new ByteRange((2 * Region) - 1, 2)], DiskBytes);

        Assert.Equal([new ByteRange(Region, 2 * Region)], aligned);
    }

    [Fact]
    public void AlignOut_AlreadyAligned_IsUnchanged()
    {
        var aligned = RegionDigest.AlignOut([new ByteRange(2 * Region, 3 * Region)], DiskBytes);

        Assert.Equal([new ByteRange(2 * Region, 3 * Region)], aligned);
    }

    [Fact]
    public void AlignOut_RangesThatMeetOrShareARegionOnceWidened_AreMerged()
    {
        var aligned = RegionDigest.AlignOut(
        [
            new ByteRange(10, 20),
            // Shares region 0 with the first once widened, and reaches into region 1.
            new ByteRange(Region - 10, 20),
            // Region 2 touches region 1: one range.
            new ByteRange((2 * Region) + 7, 1),
            // Region 5 stands alone.
            new ByteRange((5 * Region) + 4000, 10),
        ], DiskBytes);

        Assert.Equal([new ByteRange(0, 3 * Region), new ByteRange(5 * Region, Region)], aligned);
    }

    [Fact]
    public void AlignOut_RangeInTheShortLastRegion_IsClippedToTheDiskSize()
    {
        var aligned = RegionDigest.AlignOut([new ByteRange((10 * Region) + 500, 10)], DiskBytes);

        Assert.Equal([new ByteRange(10 * Region, 1000)], aligned);
        Assert.Equal(DiskBytes, aligned[0].End);
    }

    [Fact]
    public void AlignOut_RangeUpToTheDiskEnd_EndsAtTheDiskSizeNotTheNextRegionBoundary()
    {
        var aligned = RegionDigest.AlignOut([new ByteRange((9 * Region) + 1, (long)Region + 999)], DiskBytes);

        Assert.Equal([new ByteRange(9 * Region, Region + 1000)], aligned);
    }

    [Fact]
    public void AlignOut_NoRanges_IsEmpty()
    {
        Assert.Empty(RegionDigest.AlignOut([], DiskBytes));
    }

    [Fact]
    public void Count_DiskNotAMultipleOfTheRegionSize_CountsTheShortLastRegion()
    {
        Assert.Equal(11, RegionDigest.Count(DiskBytes));
        Assert.Equal(10, RegionDigest.Count(10 * Region));
        Assert.Equal(1, RegionDigest.Count(1));
        Assert.Equal(0, RegionDigest.Count(0));
    }

    [Fact]
    public void LengthOf_ShortLastRegion_IsWhatIsLeftOfTheDisk()
    {
        Assert.Equal(Region, RegionDigest.LengthOf(0, DiskBytes));
        Assert.Equal(Region, RegionDigest.LengthOf(9, DiskBytes));
        Assert.Equal(1000, RegionDigest.LengthOf(10, DiskBytes));
        Assert.Equal(Region, RegionDigest.LengthOf(9, 10 * Region));
    }

    [Fact]
    public void Hash_ZeroShortAndEmptyRegions_DifferFromUnknownAndFromEachOther()
    {
        // Unknown (zero) must never match a real hash, or an unknown region could be taken as held.
        Assert.NotEqual(RegionDigest.Unknown, RegionDigest.Hash(new byte[Region]));
        Assert.NotEqual(RegionDigest.Unknown, RegionDigest.Hash([]));
        Assert.NotEqual(RegionDigest.Hash(new byte[Region]), RegionDigest.Hash(new byte[1000]));
    }
}
