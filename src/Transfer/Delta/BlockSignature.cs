using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Transfer.Delta;

/// <summary>
/// The receiver's description of the copy of a file it already holds: for each block, the rolling
/// checksum and an XXH3-64 strong hash, 12 bytes a block. The block size grows with the square root
/// of the file's size, as rsync's does, so that the signature and the work of matching stay small for
/// large files and the granularity stays fine for small ones.
/// </summary>
public static class BlockSignature
{
    public const int EntryBytes = 12;
    public const int MinBlockSize = 700;
    public const int MaxPreferredBlockSize = 128 << 10;

    /// <summary>The most blocks one signature may list: what fits in a Need frame.</summary>
    public const int MaxBlocks = (Framing.FrameHeader.MaxSignaturePayload - 8) / EntryBytes;

    public static int BlockSizeFor(long fileSize)
    {
        var size = (int)Math.Clamp((long)Math.Sqrt(fileSize) & ~7L, MinBlockSize, MaxPreferredBlockSize);
        // Very large files: make the blocks larger rather than the signature longer than one frame.
        return (fileSize + size - 1) / size > MaxBlocks ? (int)((fileSize + MaxBlocks - 1) / MaxBlocks) : size;
    }

    public static int BlockCount(long fileSize, int blockSize) => (int)((fileSize + blockSize - 1) / blockSize);

    /// <summary>A Need frame's payload: the basis's size (u64), then its signature.</summary>
    public static byte[] ComputeWithSize(SafeFileHandle file, long size, int blockSize)
    {
        var count = BlockCount(size, blockSize);
        var payload = new byte[8 + (count * EntryBytes)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, size);
        Compute(file, size, blockSize, payload.AsSpan(8));
        return payload;
    }

    /// <summary>Reads <paramref name="file"/> (of <paramref name="size"/> bytes) and writes its signature into <paramref name="table"/>.</summary>
    public static void Compute(SafeFileHandle file, long size, int blockSize, Span<byte> table)
    {
        var count = BlockCount(size, blockSize);
        var perRead = Math.Max(1, (1 << 20) / blockSize);
        var buffer = ArrayPool<byte>.Shared.Rent(perRead * blockSize);
        try
        {
            for (var block = 0; block < count; block += perRead)
            {
                var offset = (long)block * blockSize;
                var want = (int)Math.Min((long)perRead * blockSize, size - offset);
                var got = ReadFully(file, buffer.AsSpan(0, want), offset);
                for (var i = 0; i < perRead && block + i < count; i++)
                {
                    var start = i * blockSize;
                    var length = Math.Min(blockSize, got - start);
                    var span = length > 0 ? buffer.AsSpan(start, length) : [];
                    var entry = table.Slice((block + i) * EntryBytes, EntryBytes);
                    BinaryPrimitives.WriteUInt32LittleEndian(entry, RollingChecksum.Of(span).Value);
                    BinaryPrimitives.WriteUInt64LittleEndian(entry[4..], XxHash3.HashToUInt64(span));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int ReadFully(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(file, buffer[total..], offset + total);
            if (n == 0)
            {
                // The file is shorter than it was: the missing bytes count as zeros; they will not match.
                buffer[total..].Clear();
                break;
            }
            total += n;
        }
        return buffer.Length;
    }
}
