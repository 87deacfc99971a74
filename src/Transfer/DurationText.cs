using System.Globalization;

namespace Ferry.Transfer;

/// <summary>Durations as operators write them: <c>90s</c>, <c>30m</c>, <c>1h</c>, <c>1h30m</c>, <c>2d</c> (a bare number is seconds).</summary>
public static class DurationText
{
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
            duration = TimeSpan.FromSeconds(bare);
            return true;
        }
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
            duration += rest[digits] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => TimeSpan.MinValue,
            };
            if (duration < TimeSpan.Zero)
            {
                return false;
            }
            rest = rest[(digits + 1)..];
        }
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
