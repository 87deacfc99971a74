using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ferry.Disks;
using Xunit;

namespace Ferry.Tests.Unit.Disks;

public sealed class AlignedBufferTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(65536)]
    [InlineData(1 << 20)]
    [InlineData((1 << 20) + 1)]
    public void ARentedBufferStartsOnAPageAndHoldsWhatWasAskedFor(int length)
    {
        using var buffer = AlignedBuffer.Rent(length);
        Assert.True(buffer.Span.Length >= length);
        // The buffer is pinned: its address is its distance from null.
        var address = Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref MemoryMarshal.GetReference(buffer.Span));
        Assert.Equal(0, address % AlignedBuffer.Alignment);
    }

    [Fact]
    public void AReturnedBufferIsRentedAgain_ButReturningItTwiceDoesNotHandItToTwoRenters()
    {
        var size = (16 << 20) + 1; // 32 MiB: a capacity nothing else rents, so no other test takes it meanwhile
        var first = AlignedBuffer.Rent(size);
        first.Dispose();
        first.Dispose();
        using var second = AlignedBuffer.Rent(size);
        using var third = AlignedBuffer.Rent(size);
        Assert.Same(first, second);
        Assert.NotSame(second, third);
    }
}
