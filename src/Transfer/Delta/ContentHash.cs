using System.IO.Hashing;

namespace Ferry.Transfer.Delta;

/// <summary>
/// A file's content hash (XXH3-64 over every byte, holes read as zeros), which agent and receiver
/// compute independently: the agent as it reads, the receiver as it writes.
/// </summary>
public static class ContentHash
{
    private static readonly byte[] Zeros = new byte[64 << 10];

    /// <summary>Adds <paramref name="count"/> zero bytes (a hole) to the hash.</summary>
    public static void AppendZeros(XxHash3 hash, long count)
    {
        while (count > 0)
        {
            var n = (int)Math.Min(Zeros.Length, count);
            hash.Append(Zeros.AsSpan(0, n));
            count -= n;
        }
    }
}
