using Ferry.Receiver.Targets;
using Ferry.Transfer.Blocks;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>
/// The digest beside an incremental job's working image, on real files: it follows what is written,
/// is trusted after a seal only while the image is untouched, and is otherwise built again from what
/// the image really holds.
/// </summary>
public sealed class DigestFileTests : IDisposable
{
    private const int Region = RegionDigest.RegionBytes;

    /// <summary>Sixteen whole regions and 1000 bytes: the last region is short.</summary>
    private const long DiskBytes = (16 * Region) + 1000;

    /// <summary>A time the image is set to before a seal, so that any later change of it gives it another modification time.</summary>
    private static readonly DateTime LongAgo = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ImagePath => _dir["disk.raw"];

    private string DigestPath => _dir["disk.digest"];

    [Fact]
    public void Open_NewSparseImage_RebuildsToTheHashesOfZeroRegions()
    {
        CreateImage(DiskBytes);

        using var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.True(digest.Rebuilt);
        Assert.Equal(17, digest.Regions);
        for (var i = 0L; i < digest.Regions; i++)
        {
            Assert.Equal(RegionDigest.Hash(new byte[RegionDigest.LengthOf(i, DiskBytes)]), digest.Get(i));
        }
        // The image was only looked at: a hole is known to be zeros without being read or filled.
        Assert.Equal(0, AllocatedBytes(ImagePath));
    }

    [Fact]
    public void Update_RangeNotOnRegionBoundaries_HashesWholeRegionsAndMakesEdgeRegionsUnknown()
    {
        CreateImage(DiskBytes);
        using var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes);
        var zero = digest.Get(0);
        var data = Bytes(3 * Region, seed: 1);

        // From 100 bytes into region 1 to 100 bytes into region 4.
        digest.Update(Region + 100, data);

        Assert.Equal(zero, digest.Get(0));
        Assert.Equal(RegionDigest.Unknown, digest.Get(1));
        Assert.Equal(RegionDigest.Hash(data.AsSpan((Region - 100)..((2 * Region) - 100))), digest.Get(2));
        Assert.Equal(RegionDigest.Hash(data.AsSpan(((2 * Region) - 100)..((3 * Region) - 100))), digest.Get(3));
        Assert.Equal(RegionDigest.Unknown, digest.Get(4));
        Assert.Equal(zero, digest.Get(5));
    }

    [Fact]
    public void Update_ShortLastRegion_IsHashedOverWhatTheDiskHasOfIt()
    {
        CreateImage(DiskBytes);
        using var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes);
        var data = Bytes(Region + 1000, seed: 2);

        digest.Update(15 * Region, data);

        Assert.Equal(RegionDigest.Hash(data.AsSpan(0, Region)), digest.Get(15));
        Assert.Equal(RegionDigest.Hash(data.AsSpan(Region, 1000)), digest.Get(16));
    }

    [Fact]
    public void UpdateZeros_RangeNotOnRegionBoundaries_HashesWholeRegionsAsZerosAndMakesEdgeRegionsUnknown()
    {
        CreateImage(DiskBytes);
        using var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes);
        digest.Update(0, Bytes(4 * Region, seed: 3));

        digest.UpdateZeros(Region / 2, 2 * Region);

        Assert.Equal(RegionDigest.Unknown, digest.Get(0));
        Assert.Equal(RegionDigest.Hash(new byte[Region]), digest.Get(1));
        Assert.Equal(RegionDigest.Unknown, digest.Get(2));
        Assert.NotEqual(RegionDigest.Unknown, digest.Get(3));
    }

    [Fact]
    public void Forget_Range_MakesEveryRegionItTouchesUnknown()
    {
        CreateImage(DiskBytes);
        using var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes);
        digest.Update(0, Bytes(6 * Region, seed: 4));
        var kept = digest.Get(0);

        digest.Forget(Region + 1, (2 * Region) + 10);

        Assert.Equal(kept, digest.Get(0));
        Assert.Equal(RegionDigest.Unknown, digest.Get(1));
        Assert.Equal(RegionDigest.Unknown, digest.Get(2));
        Assert.Equal(RegionDigest.Unknown, digest.Get(3));
        Assert.NotEqual(RegionDigest.Unknown, digest.Get(4));
    }

    [Fact]
    public void Read_PastTheLastRegion_IsClippedToTheDisk()
    {
        CreateImage(DiskBytes);
        using var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.Equal(2 * RegionDigest.HashBytes, digest.Read(15, 10).Length);
        Assert.Empty(digest.Read(17, 10));
    }

    [Fact]
    public void Open_AfterSealWithTheImageUntouched_IsNotRebuiltAndHoldsTheSameHashes()
    {
        CreateImage(DiskBytes);
        WriteImage(3 * Region, Bytes(2 * Region, seed: 5));
        byte[] sealedHashes;
        using (var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes))
        {
            // A hash the image does not back: only a trusted digest keeps it.
            digest.Update(10 * Region, Bytes(Region, seed: 6));
            sealedHashes = digest.Read(0, (int)digest.Regions);
            digest.Seal(ImagePath);
        }

        using var reopened = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.False(reopened.Rebuilt);
        Assert.Equal(sealedHashes, reopened.Read(0, (int)reopened.Regions));
    }

    [Fact]
    public void Open_ImageWrittenAfterSeal_RebuildsFromWhatTheImageHolds()
    {
        CreateImage(DiskBytes);
        var before = Bytes(Region, seed: 7);
        WriteImage(5 * Region, before);
        File.SetLastWriteTimeUtc(ImagePath, LongAgo);
        using (var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes))
        {
            digest.Seal(ImagePath);
            Assert.Equal(RegionDigest.Hash(before), digest.Get(5));
        }

        // Someone changes one byte of the image behind the receiver's back.
        WriteImage((5 * Region) + 17, [(byte)(before[17] ^ 0xFF)]);
        var after = (byte[])before.Clone();
        after[17] ^= 0xFF;

        using var reopened = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.True(reopened.Rebuilt);
        Assert.Equal(RegionDigest.Hash(after), reopened.Get(5));
        Assert.Equal(RegionDigest.Hash(new byte[Region]), reopened.Get(4));
    }

    [Fact]
    public void Open_ImageModificationTimeChangedAfterSeal_RebuildsFromWhatTheImageHolds()
    {
        CreateImage(DiskBytes);
        var content = Bytes(2 * Region, seed: 8);
        WriteImage(Region, content);
        using (var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes))
        {
            // A hash the image does not back: a rebuild must replace it with the image's own.
            digest.Update(Region, Bytes(Region, seed: 9));
            digest.Seal(ImagePath);
        }

        File.SetLastWriteTimeUtc(ImagePath, File.GetLastWriteTimeUtc(ImagePath).AddHours(-1));
        using var reopened = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.True(reopened.Rebuilt);
        Assert.Equal(RegionDigest.Hash(content.AsSpan(0, Region)), reopened.Get(1));
        Assert.Equal(RegionDigest.Hash(content.AsSpan(Region, Region)), reopened.Get(2));
    }

    [Fact]
    public void Open_AfterACrashWithoutSeal_RebuildsFromWhatTheImageHolds()
    {
        CreateImage(DiskBytes);
        var content = Bytes(Region, seed: 10);
        WriteImage(7 * Region, content);
        using (var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes))
        {
            digest.Seal(ImagePath);
        }
        using (var cycle = DigestFile.Open(DigestPath, ImagePath, DiskBytes))
        {
            Assert.False(cycle.Rebuilt);
            // The cycle records a write, and the receiver dies before the write reaches the image or the digest is sealed.
            cycle.Update(7 * Region, Bytes(Region, seed: 11));
        }

        using var reopened = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.True(reopened.Rebuilt);
        Assert.Equal(RegionDigest.Hash(content), reopened.Get(7));
    }

    [Fact]
    public void Open_DigestOfTheWrongLength_RebuildsFromWhatTheImageHolds()
    {
        CreateImage(DiskBytes);
        var content = Bytes(Region, seed: 12);
        WriteImage(0, content);
        using (var digest = DigestFile.Open(DigestPath, ImagePath, DiskBytes))
        {
            digest.Seal(ImagePath);
        }
        using (var file = File.OpenHandle(DigestPath, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, RandomAccess.GetLength(file) - 1);
        }

        using var reopened = DigestFile.Open(DigestPath, ImagePath, DiskBytes);

        Assert.True(reopened.Rebuilt);
        Assert.Equal(RegionDigest.Hash(content), reopened.Get(0));
    }

    [Fact]
    public void Write_OnADigestedTarget_RecordsTheHashOfEachRegionWritten()
    {
        var data = Bytes(2 * Region, seed: 13);
        using (var target = DigestedTarget.Open(ImagePath, DiskBytes))
        {
            Assert.True(File.Exists(DigestedTarget.DigestPath(ImagePath)));

            target.Write(4 * Region, data);
            target.WriteZeros(6 * Region, Region);

            Assert.Equal(RegionDigest.Hash(data.AsSpan(0, Region)), target.Digest.Get(4));
            Assert.Equal(RegionDigest.Hash(data.AsSpan(Region, Region)), target.Digest.Get(5));
            Assert.Equal(RegionDigest.Hash(new byte[Region]), target.Digest.Get(6));
        }

        // Closing the target sealed the digest: the next session trusts it.
        using var reopened = DigestedTarget.Open(ImagePath, DiskBytes);
        Assert.False(reopened.Digest.Rebuilt);
        Assert.Equal(RegionDigest.Hash(data.AsSpan(0, Region)), reopened.Digest.Get(4));
        var back = new byte[2 * Region];
        reopened.ReadBack(4 * Region, back);
        Assert.Equal(data, back);
    }

    private void CreateImage(long size)
    {
        using var image = File.OpenHandle(ImagePath, FileMode.CreateNew, FileAccess.ReadWrite);
        RandomAccess.SetLength(image, size);
    }

    private void WriteImage(long offset, byte[] data)
    {
        using var image = File.OpenHandle(ImagePath, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.Write(image, data, offset);
    }

    private static long AllocatedBytes(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        return Ferry.Disks.Files.PosixFiles.Stat(handle).Blocks * 512;
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
