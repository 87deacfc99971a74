using Ferry.Transfer.Framing;
using Ferry.Transfer.Pacing;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

/// <summary>The bucket's arithmetic, driven by a manual clock (ticks of one microsecond): no sleeping.</summary>
public sealed class TokenBucketTests
{
    private long _now;

    private TokenBucket Bucket(long bytesPerSecond) => new(bytesPerSecond, () => _now, 1_000_000);

    [Fact]
    public void Reserve_WithinBurst_NeedsNoWait()
    {
        var bucket = Bucket(100_000_000);

        Assert.Equal(TimeSpan.Zero, bucket.Reserve(FrameHeader.MaxBlockBytes));
    }

    [Fact]
    public void Reserve_BeyondBurst_WaitsForTheDeficitAtTheRate()
    {
        var bucket = Bucket(10_000_000);
        bucket.Reserve(FrameHeader.MaxBlockBytes); // the burst (one maximal frame at this rate)

        var wait = bucket.Reserve(5_000_000);

        Assert.Equal(0.5, wait.TotalSeconds, 3);
    }

    [Fact]
    public void Reserve_AfterTimePasses_TokensRefillAtTheRate()
    {
        var bucket = Bucket(10_000_000);
        bucket.Reserve(FrameHeader.MaxBlockBytes + 10_000_000);
        _now += 1_000_000; // one second: ten million tokens back

        Assert.Equal(TimeSpan.Zero, bucket.Reserve(0));
        Assert.True(bucket.Reserve(1_000_000) > TimeSpan.Zero);
    }

    [Fact]
    public void BytesPerSecond_ChangedWhileRunning_AppliesToTheNextReservation()
    {
        var bucket = Bucket(10_000_000);
        bucket.Reserve(FrameHeader.MaxBlockBytes);

        bucket.BytesPerSecond = 20_000_000;

        Assert.Equal(0.25, bucket.Reserve(5_000_000).TotalSeconds, 3);
    }

    [Fact]
    public void FromMegabits_Zero_MeansNoLimit()
    {
        Assert.Null(TokenBucket.FromMegabits(0));
        Assert.Equal(12_500_000, TokenBucket.FromMegabits(100)!.BytesPerSecond);
    }
}
