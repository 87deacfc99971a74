using System.Buffers.Binary;
using System.IO.Hashing;
using Ferry.Disks.Files;
using Ferry.Receiver.Files;
using Ferry.Transfer.Delta;
using Ferry.Transfer.Protocol;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>
/// A receiver's old copy patched in place, on real files with the real delta encoder: an append or an
/// edit that moves no block is written into the old copy (same inode, no staged file) only once the
/// content verified; a delta that moves blocks becomes a staged file, leaving the old copy as it was.
/// </summary>
public sealed class IncomingFilePatchTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AnAppendedFile_IsPatchedInPlace_OnceItVerified()
    {
        var old = Bytes(1 << 20, seed: 1);
        var grown = old.Concat(Bytes(5000, seed: 2)).ToArray();
        var (file, staged) = await ReceiveAsync(old, grown);

        using (file)
        {
            Assert.True(file.Patching);
            Assert.Equal(old, File.ReadAllBytes(_dir["target"]));
            Assert.True(file.Finish(grown.Length, XxHash3.HashToUInt64(grown)));
        }
        Assert.False(staged[0], "an append made a staged file");
        Assert.Equal(grown, File.ReadAllBytes(_dir["target"]));
    }

    [Fact]
    public async Task ALogOfRepeatedLines_Appended_IsPatchedInPlace()
    {
        // Every block of it has a twin: the copies must still be the blocks where they are, not the first alike.
        var line = "2026-11-27 10:00:00 INFO request served in 12 ms\n"u8.ToArray();
        var old = Enumerable.Repeat(line, 20_000).SelectMany(l => l).ToArray();
        var grown = old.Concat(Enumerable.Repeat("2026-11-27 11:00:00 INFO appended line\n"u8.ToArray(), 100).SelectMany(l => l)).ToArray();
        var (file, staged) = await ReceiveAsync(old, grown);

        using (file)
        {
            Assert.True(file.Patching);
            Assert.True(file.Finish(grown.Length, XxHash3.HashToUInt64(grown)));
        }
        Assert.False(staged[0]);
        Assert.Equal(grown, File.ReadAllBytes(_dir["target"]));
    }

    [Fact]
    public async Task AnEditInPlace_WithAWrongChecksum_LeavesTheOldCopyAsItWas()
    {
        var old = Bytes(300_000, seed: 3);
        var edited = (byte[])old.Clone();
        Bytes(100, seed: 4).CopyTo(edited, 150_000);
        var (file, staged) = await ReceiveAsync(old, edited);

        using (file)
        {
            Assert.True(file.Patching);
            Assert.False(file.Finish(edited.Length, XxHash3.HashToUInt64(edited) ^ 1));
        }
        Assert.False(staged[0]);
        Assert.Equal(old, File.ReadAllBytes(_dir["target"]));
    }

    [Fact]
    public async Task ADeltaThatMovesBlocks_BecomesAStagedFile_AndTheOldCopyIsUntouched()
    {
        var old = Bytes(300_000, seed: 5);
        // 1,000 bytes inserted near the start: every later block moves.
        var shifted = old[..10_000].Concat(Bytes(1000, seed: 6)).Concat(old[10_000..]).ToArray();
        var (file, staged) = await ReceiveAsync(old, shifted);

        using (file)
        {
            Assert.False(file.Patching);
            Assert.True(file.Finish(shifted.Length, XxHash3.HashToUInt64(shifted)));
        }
        Assert.True(staged[0]);
        Assert.Equal(old, File.ReadAllBytes(_dir["target"]));
        Assert.Equal(shifted, File.ReadAllBytes(_dir["staged"]));
    }

    /// <summary>The receiver's side of a delta of <paramref name="newer"/> against <paramref name="old"/>, written to disk as "target".</summary>
    private async Task<(IncomingFile File, bool[] Staged)> ReceiveAsync(byte[] old, byte[] newer)
    {
        File.WriteAllBytes(_dir["target"], old);
        File.WriteAllBytes(_dir["newer"], newer);
        var blockSize = BlockSignature.BlockSizeFor(old.Length);
        using var dir = PosixFiles.OpenDirectory(_dir.Path);
        var basis = PosixFiles.OpenReadWriteAt(dir, "target"u8);
        var signature = BlockSignature.ComputeWithSize(basis, old.Length, blockSize);
        var staged = new bool[1];
        var file = new IncomingFile(1, new FileEntry(), [], "target"u8.ToArray(), null, basis, old.Length, blockSize, () =>
        {
            staged[0] = true;
            using var stagingDir = PosixFiles.OpenDirectory(_dir.Path);
            return PosixFiles.CreateExclusiveAt(stagingDir, "staged"u8);
        });
        using var encoder = new DeltaEncoder(new SignatureIndex(signature.AsSpan(8), blockSize, BinaryPrimitives.ReadInt64LittleEndian(signature)));
        using var source = File.OpenHandle(_dir["newer"]);
        await encoder.EncodeAsync(source, newer.Length, new XxHash3(), ops =>
        {
            DeltaOps.Apply(ops.Span, file.BlockCount, file);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        return (file, staged);
    }

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
