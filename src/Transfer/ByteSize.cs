using System.Globalization;

namespace Ferry.Transfer;

/// <summary>Byte counts as people read them (binary units), for progress lines and listings.</summary>
public static class ByteSize
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    /// <summary>Whole MiB, rounded up (a negative count is 0): how much room to ask a user for.</summary>
    public static long MibRoundedUp(long bytes) => (Math.Max(0, bytes) + (1 << 20) - 1) >> 20;

    public static string Format(long bytes)
    {
        double v = bytes;
        var i = 0;
        while (Math.Abs(v) >= 1024 && i < Units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return string.Create(CultureInfo.InvariantCulture, $"{v:0.#} {Units[i]}");
    }

    /// <summary>
    /// Parses "512", "512B", "64K", "64KiB", "3M", "3MiB", "8G", "8GiB", "1T", "1TiB" (binary units,
    /// case-insensitive); null when the text is not a size.
    /// </summary>
    public static long? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var t = text.Trim().ToUpperInvariant();
        var digits = t.TakeWhile(char.IsAsciiDigit).Count();
        if (digits == 0 || !long.TryParse(t.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }
        var shift = t[digits..].Trim() switch
        {
            "" or "B" => 0,
            "K" or "KIB" => 10,
            "M" or "MIB" => 20,
            "G" or "GIB" => 30,
            "T" or "TIB" => 40,
            _ => -1,
        };
        return shift < 0 || value > (long.MaxValue >> shift) ? null : value << shift;
    }
}
