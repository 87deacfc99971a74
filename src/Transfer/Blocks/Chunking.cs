using Ferry.Disks;

namespace Ferry.Transfer.Blocks;

/// <summary>Cuts ranges into chunks that never cross a multiple of the chunk size, so writes stay aligned.</summary>
public static class Chunking
{
    public static IEnumerable<ByteRange> Split(IEnumerable<ByteRange> ranges, int chunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        foreach (var range in ranges)
        {
            var offset = range.Offset;
            while (offset < range.End)
            {
                var boundary = ((offset / chunkBytes) + 1) * chunkBytes;
                var end = Math.Min(range.End, boundary);
                yield return new ByteRange(offset, end - offset);
                offset = end;
            }
        }
    }
}
