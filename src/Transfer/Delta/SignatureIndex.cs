using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Delta;

/// <summary>
/// A block signature arranged for lookup while the agent slides over its file: a bitmap of the weak
/// checksums answers "certainly not here" for most offsets with one memory access; the rest go to a
/// hash of weak checksums and are confirmed by the strong hash.
/// </summary>
public sealed class SignatureIndex
{
    /// <summary>The filter has 16 to 32 bits per block (a few percent false positives), at least 64 and at most 2^20.</summary>
    private const int MaxFilterShift = 20;

    private readonly ulong[] _filter;
    private readonly int _filterShift;
    private readonly Dictionary<uint, int> _first = [];
    private readonly int[] _next;
    private readonly uint[] _weak;
    private readonly ulong[] _strong;

    public SignatureIndex(ReadOnlySpan<byte> table, int blockSize, long basisSize)
    {
        if (table.Length % BlockSignature.EntryBytes != 0 || blockSize <= 0
            || table.Length / BlockSignature.EntryBytes != BlockSignature.BlockCount(basisSize, blockSize))
        {
            throw new ProtocolException("the block signature does not match its block size");
        }
        BlockSize = blockSize;
        Count = table.Length / BlockSignature.EntryBytes;
        LastBlockLength = Count == 0 ? 0 : (int)(basisSize - ((long)(Count - 1) * blockSize));
        // Sized by the blocks: a fixed 2^20-bit filter cost a 128 KiB allocation, zeroed, for every small file's delta.
        _filterShift = Math.Clamp(BitOperations.Log2((uint)Math.Min(Count, 1 << MaxFilterShift)) + 5, 6, MaxFilterShift);
        _filter = new ulong[(1 << _filterShift) / 64];
        _next = new int[Count];
        _weak = new uint[Count];
        _strong = new ulong[Count];
        // Inserted from the end so that each chain lists its blocks in file order.
        for (var i = Count - 1; i >= 0; i--)
        {
            var entry = table.Slice(i * BlockSignature.EntryBytes, BlockSignature.EntryBytes);
            var weak = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            _weak[i] = weak;
            _strong[i] = BinaryPrimitives.ReadUInt64LittleEndian(entry[4..]);
            _next[i] = _first.TryGetValue(weak, out var head) ? head : -1;
            _first[weak] = i;
            var bit = Mix(weak);
            _filter[bit >> 6] |= 1UL << (int)(bit & 63);
        }
    }

    public int BlockSize { get; }

    public int Count { get; }

    /// <summary>Length of the basis's last block (shorter than the block size unless the size divides evenly).</summary>
    public int LastBlockLength { get; }

    /// <summary>
    /// A full-size block whose checksums match <paramref name="window"/>, or -1: <paramref name="preferred"/> when it is one
    /// of them (the block already at the window's offset: a copy that moves nothing, which the receiver can leave where it
    /// is, even in a file of repeated blocks such as a log), else the first.
    /// </summary>
    public int Find(uint weak, ReadOnlySpan<byte> window, int preferred = -1)
    {
        var bit = Mix(weak);
        if ((_filter[bit >> 6] & (1UL << (int)(bit & 63))) == 0 || !_first.TryGetValue(weak, out var i))
        {
            return -1;
        }
        ulong? strong = null;
        if (preferred >= 0 && preferred < Count && _weak[preferred] == weak && IsFullBlock(preferred))
        {
            strong = XxHash3.HashToUInt64(window);
            if (_strong[preferred] == strong)
            {
                return preferred;
            }
        }
        for (; i >= 0; i = _next[i])
        {
            if (!IsFullBlock(i))
            {
                continue;
            }
            strong ??= XxHash3.HashToUInt64(window);
            if (_strong[i] == strong)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Whether <paramref name="tail"/> (the end of the new file) equals the basis's short last block.</summary>
    public bool MatchesLastBlock(ReadOnlySpan<byte> tail) =>
        Count > 0 && tail.Length == LastBlockLength && LastBlockLength != BlockSize
        && _weak[Count - 1] == RollingChecksum.Of(tail).Value && _strong[Count - 1] == XxHash3.HashToUInt64(tail);

    /// <summary>Every block but a short last one: a window is always a full block.</summary>
    private bool IsFullBlock(int i) => i != Count - 1 || LastBlockLength == BlockSize;

    private uint Mix(uint weak) => (weak * 0x9E3779B1u) >> (32 - _filterShift);
}
