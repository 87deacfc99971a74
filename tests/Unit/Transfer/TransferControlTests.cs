using Ferry.Transfer.Blocks;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

public sealed class TransferControlTests
{
    [Fact]
    public async Task WaitWhilePausedAsync_Paused_WaitsUntilResumed()
    {
        var control = new TransferControl();
        control.Pause();

        var waiting = control.WaitWhilePausedAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        control.Resume();

        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(control.WaitWhilePausedAsync(CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task WaitWhilePausedAsync_CancelledWhilePaused_Throws()
    {
        var control = new TransferControl();
        control.Pause();
        using var cancel = new CancellationTokenSource();

        var waiting = control.WaitWhilePausedAsync(cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void SetBandwidth_ChangedWhileRunning_KeepsOneBucketAndZeroRemovesIt()
    {
        var control = new TransferControl();
        control.SetBandwidth(80);
        var bucket = control.RateLimit;

        control.SetBandwidth(160);

        Assert.Same(bucket, control.RateLimit);
        Assert.Equal(20_000_000, control.RateLimit!.BytesPerSecond);
        control.SetBandwidth(0);
        Assert.Null(control.RateLimit);
    }

    [Fact]
    public void CompressionLevel_OutOfRange_IsRefused()
    {
        var control = new TransferControl();

        Assert.Throws<ArgumentOutOfRangeException>(() => control.CompressionLevel = 11);
        Assert.Equal(7, control.CompressionLevel);
    }
}
