using System.Globalization;
using System.Text;

namespace Ferry.Disks.Filesystems;

/// <summary>Formats identifiers the way blkid prints them.</summary>
internal static class UuidText
{
    /// <summary>16 bytes in on-disk order as 8-4-4-4-12 lower-case hex (ext, XFS, btrfs, swap).</summary>
    public static string? FromBytes(ReadOnlySpan<byte> b)
    {
        if (b.Length < 16 || b[..16].IndexOfAnyExcept((byte)0) < 0)
        {
            return null;
        }
        var sb = new StringBuilder(36);
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                sb.Append('-');
            }
            sb.Append(b[i].ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>A NUL- or space-padded label, or null when empty.</summary>
    public static string? Label(ReadOnlySpan<byte> b, bool trimSpaces = false)
    {
        var end = b.IndexOf((byte)0);
        var text = Encoding.UTF8.GetString(end < 0 ? b : b[..end]);
        if (trimSpaces)
        {
            text = text.TrimEnd(' ');
        }
        return text.Length == 0 ? null : text;
    }
}
