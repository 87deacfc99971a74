using System.Globalization;

namespace Ferry.Transfer;

/// <summary>Durations as operators write them: <c>90s</c>, <c>30m</c>, <c>1h</c>, <c>1h30m</c>, <c>2d</c> (a bare number is seconds).</summary>
public static class DurationText
{
    private static readonly long MaxSeconds = (long)TimeSpan.MaxValue.TotalSeconds;

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var rest = text.Trim();
        if (long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var bare))
        {
            if (bare > MaxSeconds)
            {
                return false;
            }
            duration = TimeSpan.FromSeconds(bare);
            return true;
        }
        // Summed in seconds and checked after each term: a duration a TimeSpan cannot hold is refused, not thrown.
        var seconds = 0L;
        while (rest.Length > 0)
        {
            var digits = 0;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
            {
                digits++;
            }
            if (digits == 0 || digits == rest.Length || digits > 9)
            {
                return false;
            }
            var n = long.Parse(rest.AsSpan(0, digits), CultureInfo.InvariantCulture);
            var unit = rest[digits] switch
            {
                's' => 1L,
                'm' => 60L,
                'h' => 3600L,
                'd' => 86400L,
                _ => 0L,
            };
            // At most 9 digits times a day's seconds: the sum cannot overflow before the check.
            seconds += n * unit;
            if (unit == 0 || seconds > MaxSeconds)
            {
                return false;
            }
            rest = rest[(digits + 1)..];
        }
        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>The shortest of those forms for <paramref name="duration"/> (whole seconds).</summary>
    public static string Format(TimeSpan duration)
    {
        var seconds = (long)duration.TotalSeconds;
        return seconds % 86400 == 0 && seconds > 0 ? $"{seconds / 86400}d"
            : seconds % 3600 == 0 && seconds > 0 ? $"{seconds / 3600}h"
            : seconds % 60 == 0 && seconds > 0 ? $"{seconds / 60}m"
            : $"{seconds}s";
    }
}
