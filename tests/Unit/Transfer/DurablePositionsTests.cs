using Ferry.Disks;
using Ferry.Transfer.Blocks;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

public sealed class DurablePositionsTests
{
    private const long Mib = 1 << 20;

    [Fact]
    public void Durable_OutOfOrder_PositionIsTheOldestChunkNotYetDurable()
    {
        var positions = new DurablePositions(new Dictionary<uint, long> { [0] = 0, [1] = 0 });
        positions.Reading(0, 0, Mib);
        positions.Reading(0, Mib, 2 * Mib);
        positions.Reading(0, 4 * Mib, 5 * Mib);

        positions.Durable(0, Mib);
        positions.Durable(0, 4 * Mib);
        Assert.Equal(0, positions.Positions()[0]);

        positions.Durable(0, 0);
        // Nothing outstanding: everything read so far is durable, the gap (2-4 MiB) was never planned.
        Assert.Equal(5 * Mib, positions.Positions()[0]);
        Assert.Equal(0, positions.Positions()[1]);
    }

    [Fact]
    public void Durable_UnknownChunkOrDiskOrTwice_ChangesNothing()
    {
        var positions = new DurablePositions(new Dictionary<uint, long> { [0] = 3 * Mib });
        positions.Reading(0, 3 * Mib, 4 * Mib);
        var version = positions.Version;

        positions.Durable(0, 7 * Mib);
        positions.Durable(9, 3 * Mib);
        Assert.Equal(version, positions.Version);
        Assert.Equal(3 * Mib, positions.Positions()[0]);

        positions.Durable(0, 3 * Mib);
        positions.Durable(0, 3 * Mib);
        Assert.Equal(version + 1, positions.Version);
        Assert.Equal(4 * Mib, positions.Positions()[0]);
    }

    [Fact]
    public void From_PositionInsideARange_ClipsItAndDropsEverythingBefore()
    {
        List<ByteRange> plan = [new(0, Mib), new(2 * Mib, 3 * Mib), new(8 * Mib, Mib)];

        Assert.Equal([new ByteRange(3 * Mib, 2 * Mib), new ByteRange(8 * Mib, Mib)], RangeList.From(plan, 3 * Mib));
        Assert.Equal(plan, RangeList.From(plan, 0));
        Assert.Empty(RangeList.From(plan, 9 * Mib));
    }
}
