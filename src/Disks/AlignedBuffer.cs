using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Ferry.Disks;

/// <summary>
/// A buffer whose start is aligned to <see cref="Alignment"/> bytes, from a small shared pool, so that a
/// block device can be read into it with O_DIRECT (see <see cref="BlockDevice.ReadExactly(Span{byte}, long)"/>).
/// The memory is a pinned array (the GC still owns it). <see cref="Dispose"/> gives the buffer back; a second Dispose
/// does nothing, but only until someone rents it again, so a holder drops its reference when it disposes.
/// </summary>
public sealed unsafe class AlignedBuffer : IDisposable
{
    /// <summary>The largest logical sector size of a Linux block device: what O_DIRECT asks of a buffer's address.</summary>
    public const int Alignment = 4096;

    /// <summary>Free buffers kept per capacity; a pipeline holds a few dozen at most, and the rest are left to the GC.</summary>
    private const int KeptPerCapacity = 32;

    private static readonly ConcurrentDictionary<int, ConcurrentBag<AlignedBuffer>> Free = new();

    private readonly byte[] _array;
    private readonly int _start;
    private bool _rented;

    private AlignedBuffer(int capacity)
    {
        Capacity = capacity;
        _array = GC.AllocateUninitializedArray<byte>(capacity + Alignment, pinned: true);
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);
        _start = (int)((Alignment - (address & (Alignment - 1))) & (Alignment - 1));
    }

    /// <summary>Usable bytes: a power of two of at least a page.</summary>
    public int Capacity { get; }

    /// <summary>The whole buffer; its first byte is aligned.</summary>
    public Span<byte> Span => _array.AsSpan(_start, Capacity);

    /// <summary>The whole buffer, for asynchronous reads into it.</summary>
    public Memory<byte> Memory => _array.AsMemory(_start, Capacity);

    /// <summary>A buffer of at least <paramref name="minimumLength"/> bytes (contents undefined).</summary>
    public static AlignedBuffer Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        var capacity = (int)Math.Max(Alignment, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)minimumLength));
        var buffer = Free.TryGetValue(capacity, out var bag) && bag.TryTake(out var kept) ? kept : new AlignedBuffer(capacity);
        buffer._rented = true;
        return buffer;
    }

    /// <summary>
    /// Whether an I/O of <paramref name="data"/> at <paramref name="offset"/> may go past the page cache: its address,
    /// length and offset are all multiples of <paramref name="alignment"/> (a power of two), and it is not empty.
    /// </summary>
    public static bool IsAligned(ReadOnlySpan<byte> data, long offset, int alignment = Alignment)
    {
        var address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(data));
        return ((address | data.Length | offset) & (alignment - 1)) == 0 && data.Length > 0;
    }

    public void Dispose()
    {
        if (!_rented)
        {
            return;
        }
        _rented = false;
        var bag = Free.GetOrAdd(Capacity, _ => []);
        if (bag.Count < KeptPerCapacity)
        {
            bag.Add(this);
        }
    }
}
