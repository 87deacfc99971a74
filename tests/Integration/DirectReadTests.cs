using Ferry.Disks;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// The agent reads a disk's chunks past the page cache (O_DIRECT) so that copying a whole disk does not evict the
/// running server's cached data; the small reads of filesystem structures stay cached. Which pages of the device
/// the cache holds is read with mincore(2) (<see cref="PageCache"/>).
/// </summary>
[Collection("loop devices")]
public sealed class DirectReadTests
{
    private const int MiB = 1 << 20;

    [Fact]
    public void AChunkReadIntoAnAlignedBufferLeavesNothingInTheCache_AnUnalignedReadIsCached_BothReadTheDisk()
    {
        using var dir = new TempDir();
        var bytes = new byte[64 * MiB];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(dir["disk.img"], bytes);
        using var disk = LoopDisk.Create(dir["disk.img"], bytes.Length);
        Sh.Run("blockdev", "--flushbufs", disk.Device).Check("blockdev --flushbufs");
        using var device = BlockDevice.OpenRead(disk.Device);
        using var buffer = AlignedBuffer.Rent(16 * MiB + 4096);

        var chunk = buffer.Span[..(16 * MiB)];
        device.ReadExactly(chunk, 16 * MiB);
        Assert.True(chunk.SequenceEqual(bytes.AsSpan(16 * MiB, 16 * MiB)), "the direct read returned other bytes than the disk holds");
        Assert.Equal(0, PageCache.CachedPages(disk.Device, 16 * MiB, 16 * MiB));

        // The same read into a buffer one byte off alignment goes through the cache: what mincore shows is real.
        var unaligned = buffer.Span.Slice(1, 16 * MiB);
        device.ReadExactly(unaligned, 32 * MiB);
        Assert.True(unaligned.SequenceEqual(bytes.AsSpan(32 * MiB, 16 * MiB)), "the cached read returned other bytes than the disk holds");
        Assert.Equal(16 * MiB / 4096, PageCache.CachedPages(disk.Device, 32 * MiB, 16 * MiB));
    }

    [Fact]
    public void AChunkReadSeesWhatWasWrittenToTheDeviceButIsStillOnlyInItsCache()
    {
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["disk.img"], 32 * MiB);
        var written = new byte[MiB];
        new Random(9).NextBytes(written);
        // Written through the device's page cache and not synced: dirty pages a direct read must not miss. The device stays
        // open meanwhile, since its last close would write them out.
        using var stream = new FileStream(disk.Device, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        stream.Position = 8 * MiB;
        stream.Write(written);
        Assert.True(PageCache.CachedPages(disk.Device, 8 * MiB, MiB) == MiB / 4096, "the write was expected to leave its pages in the cache");

        using var device = BlockDevice.OpenRead(disk.Device);
        using var buffer = AlignedBuffer.Rent(MiB);
        device.ReadExactly(buffer.Span[..MiB], 8 * MiB);
        Assert.True(buffer.Span[..MiB].SequenceEqual(written), "the direct read missed data still in the device's cache");
    }
}
