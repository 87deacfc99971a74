using System.Globalization;

namespace Ferry.Transfer;

/// <summary>Byte counts as people read them (binary units), for progress lines and listings.</summary>
public static class ByteSize
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

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
}
