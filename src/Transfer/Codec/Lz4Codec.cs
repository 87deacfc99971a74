using K4os.Compression.LZ4;

namespace Ferry.Transfer;

/// <summary>
/// Compression of frame payloads with LZ4 blocks. Ferry's levels follow the vendor's 0–10 scale:
/// 0 sends raw bytes; 1–7 use LZ4's fast mode (a few hundred MB/s per core, the right choice on
/// fast links; default 7); 8, 9 and 10 use LZ4-HC levels 4, 9 and 12 for slow links, where CPU is
/// cheaper than bandwidth.
/// </summary>
public static class Lz4Codec
{
    public const int DefaultLevel = 7;

    public static int MaxEncodedLength(int length) => LZ4Codec.MaximumOutputSize(length);

    /// <summary>
    /// Compresses <paramref name="source"/> into <paramref name="target"/>; returns the encoded length,
    /// or -1 when compression is off or would not save at least 1/32 of the bytes (the frame goes raw).
    /// </summary>
    public static int TryEncode(ReadOnlySpan<byte> source, Span<byte> target, int level)
    {
        if (level <= 0)
        {
            return -1;
        }
        var worthIt = source.Length - (source.Length >> 5);
        var n = LZ4Codec.Encode(source, target[..Math.Min(target.Length, worthIt)], ToLz4Level(level));
        return n > 0 && n < worthIt ? n : -1;
    }

    /// <summary>Decodes exactly <paramref name="target"/>.Length bytes, or returns false when the block is damaged.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> target) =>
        LZ4Codec.Decode(source, target) == target.Length;

    public static void ValidateLevel(int level)
    {
        if (level is < 0 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "compression level must be 0 to 10");
        }
    }

    private static LZ4Level ToLz4Level(int level) => level switch
    {
        <= 7 => LZ4Level.L00_FAST,
        8 => LZ4Level.L04_HC,
        9 => LZ4Level.L09_HC,
        _ => LZ4Level.L12_MAX,
    };
}
