using System.IO.Hashing;
using Ferry.Transfer.Delta;
using Ferry.Transfer.Errors;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

public sealed class DeltaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ferry-delta-").FullName;

    [Fact]
    public void RollingChecksum_RolledAcrossData_EqualsChecksumComputedAfresh()
    {
        var data = new byte[5000];
        new Random(7).NextBytes(data);
        const int window = 700;
        var rolling = RollingChecksum.Of(data.AsSpan(0, window));
        for (var i = 1; i + window <= data.Length; i++)
        {
            rolling.Roll(data[i - 1], data[i + window - 1]);
            Assert.Equal(RollingChecksum.Of(data.AsSpan(i, window)).Value, rolling.Value);
        }
    }

    [Theory]
    [InlineData(0, 700)]
    [InlineData(100_000, 700)]
    [InlineData(1_000_000, 1000)]
    [InlineData(100L << 20, 10240)]
    [InlineData(16L << 30, 131072)]
    public void BlockSizeFor_GrowsWithSquareRootBetweenBounds(long size, int expected) =>
        Assert.Equal(expected, BlockSignature.BlockSizeFor(size));

    [Fact]
    public void BlockSizeFor_HugeFile_KeepsSignatureWithinOneFrame()
    {
        var size = 2L << 40;
        var block = BlockSignature.BlockSizeFor(size);
        Assert.True(BlockSignature.BlockCount(size, block) <= BlockSignature.MaxBlocks);
    }

    [Theory]
    [InlineData("insert")]
    [InlineData("delete")]
    [InlineData("modify")]
    [InlineData("append")]
    [InlineData("truncate")]
    [InlineData("unrelated")]
    public async Task Delta_EditedFile_RebuildsExactlyAndSendsAboutTheEdit(string edit)
    {
        var random = new Random(edit.GetHashCode(StringComparison.Ordinal));
        var basis = new byte[3_000_000 + 123];
        random.NextBytes(basis);
        var edited = edit switch
        {
            "insert" => [.. basis[..1_000_000], .. Bytes(random, 5000), .. basis[1_000_000..]],
            "delete" => [.. basis[..1_000_000], .. basis[1_010_000..]],
            "modify" => Modify(basis, 2_000_000, Bytes(random, 3000)),
            "append" => [.. basis, .. Bytes(random, 4321)],
            "truncate" => basis[..2_500_000],
            _ => Bytes(random, 1_000_000),
        };

        var (rebuilt, literal) = await RoundTripAsync(basis, edited);

        Assert.Equal(edited, rebuilt);
        var bound = edit switch { "unrelated" => edited.Length, "truncate" => 2_000, _ => 20_000 };
        Assert.True(literal <= bound, $"{literal} literal bytes for a '{edit}' edit (bound {bound})");
    }

    [Theory]
    [InlineData(700)]
    [InlineData(1_500)]
    [InlineData(9_000)]
    public async Task Delta_SmallFileWithAnEdit_CopiesTheBlocksAroundIt(int size)
    {
        // A signature of one to a dozen blocks: the index's filter is then its smallest (64 to 512 bits).
        var random = new Random(size);
        var basis = Bytes(random, size);
        var edited = Modify(basis, size - 100, Bytes(random, 50));

        var (rebuilt, literal) = await RoundTripAsync(basis, edited);

        Assert.Equal(edited, rebuilt);
        Assert.True(literal <= 700, $"{literal} literal bytes for a 50-byte edit of {size} bytes");
        Assert.True(size < 1_400 || literal < size, "blocks before the edit are copied");
    }

    [Fact]
    public async Task Delta_IdenticalFileWithShortLastBlock_IsAllCopies()
    {
        var data = Bytes(new Random(3), 10_007);
        var (rebuilt, literal) = await RoundTripAsync(data, data);
        Assert.Equal(data, rebuilt);
        Assert.Equal(0, literal);
    }

    [Fact]
    public void Apply_CopyBeyondBasis_IsProtocolError()
    {
        var ops = new byte[DeltaOps.CopyBytes];
        DeltaOps.WriteCopy(ops, 5, 2);
        Assert.Throws<ProtocolException>(() => DeltaOps.Apply(ops, 6, new MemoryTarget([], 700)));
    }

    [Fact]
    public void Apply_LiteralOverrunningFrame_IsProtocolError()
    {
        var ops = new byte[DeltaOps.LiteralHeaderBytes + 10];
        DeltaOps.WriteLiteralHeader(ops, 11);
        Assert.Throws<ProtocolException>(() => DeltaOps.Apply(ops, 0, new MemoryTarget([], 700)));
    }

    [Fact]
    public void SignatureIndex_TableOfWrongLength_IsProtocolError() =>
        Assert.Throws<ProtocolException>(() => new SignatureIndex(new byte[24], 700, 5000));

    private async Task<(byte[] Rebuilt, long Literal)> RoundTripAsync(byte[] basis, byte[] edited)
    {
        var basisPath = Path.Combine(_dir, "basis");
        var newPath = Path.Combine(_dir, "new");
        await File.WriteAllBytesAsync(basisPath, basis);
        await File.WriteAllBytesAsync(newPath, edited);
        var block = BlockSignature.BlockSizeFor(basis.Length);
        byte[] table;
        using (var b = File.OpenHandle(basisPath))
        {
            table = BlockSignature.ComputeWithSize(b, basis.Length, block);
        }
        using var encoder = new DeltaEncoder(new SignatureIndex(table.AsSpan(8), block, basis.Length), opBufferBytes: 300_000);
        var target = new MemoryTarget(basis, block);
        var hash = new XxHash3();
        using (SafeFileHandle n = File.OpenHandle(newPath))
        {
            await encoder.EncodeAsync(n, edited.Length, hash, ops =>
            {
                DeltaOps.Apply(ops.Span, BlockSignature.BlockCount(basis.Length, block), target);
                return ValueTask.CompletedTask;
            }, CancellationToken.None);
        }
        Assert.Equal(XxHash3.HashToUInt64(edited), hash.GetCurrentHashAsUInt64());
        return (target.Output.ToArray(), encoder.LiteralBytes);
    }

    private static byte[] Bytes(Random random, int count)
    {
        var b = new byte[count];
        random.NextBytes(b);
        return b;
    }

    private static byte[] Modify(byte[] data, int at, byte[] with)
    {
        var copy = (byte[])data.Clone();
        with.CopyTo(copy, at);
        return copy;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class MemoryTarget(byte[] basis, int blockSize) : IDeltaTarget
    {
        public MemoryStream Output { get; } = new();

        public void CopyBlocks(int block, int count)
        {
            var start = (long)block * blockSize;
            var end = Math.Min(basis.Length, (long)(block + count) * blockSize);
            Output.Write(basis, (int)start, (int)(end - start));
        }

        public void Write(ReadOnlySpan<byte> data) => Output.Write(data);
    }
}
