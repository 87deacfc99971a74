namespace Ferry.Disks;

/// <summary>
/// Builds a sorted list of disjoint byte ranges from ranges added in any order; overlapping and
/// touching ranges are merged, so a caller can add "always send" areas on top of allocation maps.
/// </summary>
public sealed class RangeList
{
    private readonly List<ByteRange> _ranges = [];

    public void Add(long offset, long length)
    {
        if (length > 0)
        {
            _ranges.Add(new ByteRange(offset, length));
        }
    }

    public void Add(ByteRange range) => Add(range.Offset, range.Length);

    public void AddRange(IEnumerable<ByteRange> ranges)
    {
        foreach (var r in ranges)
        {
            Add(r);
        }
    }

    /// <summary>The merged ranges, clipped to [0, <paramref name="limit"/>).</summary>
    public List<ByteRange> ToMerged(long limit = long.MaxValue)
    {
        var sorted = _ranges.OrderBy(r => r.Offset).ToList();
        var merged = new List<ByteRange>(sorted.Count);
        foreach (var r in sorted)
        {
            var start = Math.Max(0, r.Offset);
            var end = Math.Min(limit, r.End);
            if (end <= start)
            {
                continue;
            }
            if (merged.Count > 0 && merged[^1].End >= start)
            {
                var last = merged[^1];
                merged[^1] = new ByteRange(last.Offset, Math.Max(last.End, end) - last.Offset);
            }
            else
            {
                merged.Add(new ByteRange(start, end - start));
            }
        }
        return merged;
    }

    public static long TotalLength(IEnumerable<ByteRange> ranges) => ranges.Sum(r => r.Length);

    /// <summary>What of sorted <paramref name="ranges"/> lies at or after <paramref name="position"/> (where an interrupted copy resumes).</summary>
    public static List<ByteRange> From(IEnumerable<ByteRange> ranges, long position) =>
        ranges.Where(r => r.End > position).Select(r => r.Offset >= position ? r : new ByteRange(position, r.End - position)).ToList();
}
