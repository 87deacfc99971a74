using Ferry.Disks;
using Ferry.Disks.Mounts;
using Ferry.Snapshot;
using Ferry.Transfer.Blocks;
using Xunit;

namespace Ferry.Tests.Unit.Disks;

public sealed class RangeAndMountTests
{
    [Fact]
    public void ToMerged_OverlappingTouchingAndUnsorted_MergesAndClips()
    {
        var list = new RangeList();
        list.Add(100, 50);
        list.Add(0, 10);
        list.Add(10, 5);
        list.Add(120, 100);
        list.Add(500, 0);

        Assert.Equal([new ByteRange(0, 15), new ByteRange(100, 100)], list.ToMerged(limit: 200));
    }

    [Fact]
    public void Split_RangeAcrossChunkBoundaries_CutsAtMultiplesOfTheChunk()
    {
        var chunks = Chunking.Split([new ByteRange(1000, 5000)], 2048).ToList();

        Assert.Equal([new ByteRange(1000, 1048), new ByteRange(2048, 2048), new ByteRange(4096, 1904)], chunks);
    }

    [Fact]
    public void Parse_MountinfoLines_ReadsDeviceMountPointTypeAndReadOnly()
    {
        var table = MountTable.Parse([
            "29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro",
            "40 29 7:1 / /mnt/with\\040space ro,relatime - xfs /dev/loop0p1 ro,attr2",
            "41 29 0:22 / /proc rw,nosuid - proc proc rw",
            "malformed line",
        ]);

        Assert.Equal(3, table.Entries.Count);
        var spaced = Assert.Single(table.ForDevice(7, 1));
        Assert.Equal("/mnt/with space", spaced.MountPoint);
        Assert.True(spaced.ReadOnly);
        Assert.False(Assert.Single(table.ForDevice(254, 1)).ReadOnly);
    }

    [Fact]
    public void Choose_MountedReadWrite_IsFrozenForTheLastPassAndSaysWhy()
    {
        var choice = ViewSelector.Choose("/dev/vda1", [new MountEntry(254, 1, "/", "ext4", "/dev/vda1", false)], TimeSpan.FromSeconds(30));

        Assert.True(choice.Consistent);
        Assert.Equal("freeze", choice.Provider);
        Assert.Contains("frozen (FIFREEZE) for at most 30 s", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_MountedReadWriteWithoutFreezing_IsLiveAndSaysWhy()
    {
        var choice = ViewSelector.Choose("/dev/vda1", [new MountEntry(254, 1, "/", "ext4", "/dev/vda1", false)], freezeBound: null);

        Assert.False(choice.Consistent);
        Assert.Equal("live", choice.Provider);
        Assert.Contains("may be inconsistent", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_UnmountedOrReadOnly_IsDirectAndConsistent()
    {
        Assert.True(ViewSelector.Choose("/dev/vdb1", [], TimeSpan.FromSeconds(30)).Consistent);
        Assert.True(ViewSelector.Choose("/dev/vdb1", [new MountEntry(254, 17, "/data", "xfs", "/dev/vdb1", true)], null).Consistent);
    }
}
