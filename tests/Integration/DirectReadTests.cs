using System.Runtime.InteropServices;
using Ferry.Disks;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// The agent reads a disk's chunks past the page cache (O_DIRECT) so that copying a whole disk does not evict the
/// running server's cached data; the small reads of filesystem structures stay cached. Which pages of the device
/// the cache holds is read with mincore(2) on a mapping of the device.
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
        Assert.Equal(0, CachedPages(disk.Device, 16 * MiB, 16 * MiB));

        // The same read into a buffer one byte off alignment goes through the cache: what mincore shows is real.
        var unaligned = buffer.Span.Slice(1, 16 * MiB);
        device.ReadExactly(unaligned, 32 * MiB);
        Assert.True(unaligned.SequenceEqual(bytes.AsSpan(32 * MiB, 16 * MiB)), "the cached read returned other bytes than the disk holds");
        Assert.Equal(16 * MiB / 4096, CachedPages(disk.Device, 32 * MiB, 16 * MiB));
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
        Assert.True(CachedPages(disk.Device, 8 * MiB, MiB) == MiB / 4096, "the write was expected to leave its pages in the cache");

        using var device = BlockDevice.OpenRead(disk.Device);
        using var buffer = AlignedBuffer.Rent(MiB);
        device.ReadExactly(buffer.Span[..MiB], 8 * MiB);
        Assert.True(buffer.Span[..MiB].SequenceEqual(written), "the direct read missed data still in the device's cache");
    }

    /// <summary>How many 4 KiB pages of the device's range [offset, offset + length) the page cache holds.</summary>
    private static int CachedPages(string device, long offset, int length)
    {
        using var handle = File.OpenHandle(device);
        const int ProtRead = 1, MapShared = 1;
        var map = Mmap(0, (nuint)length, ProtRead, MapShared, (int)handle.DangerousGetHandle(), offset);
        Assert.True(map != -1, $"mmap of {device} failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var pages = new byte[length / 4096];
            Assert.True(Mincore(map, (nuint)length, pages) == 0, $"mincore failed: errno {Marshal.GetLastPInvokeError()}");
            return pages.Count(p => (p & 1) != 0);
        }
        finally
        {
            _ = Munmap(map, (nuint)length);
        }
    }

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static extern int Mincore(nint address, nuint length, [Out] byte[] pages);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int Munmap(nint address, nuint length);
}
