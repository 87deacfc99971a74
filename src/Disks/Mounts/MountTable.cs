using System.Globalization;
using System.Text;

namespace Ferry.Disks.Mounts;

/// <summary>The mounts of this system, from /proc/self/mountinfo.</summary>
public sealed class MountTable(IReadOnlyList<MountEntry> entries)
{
    public IReadOnlyList<MountEntry> Entries { get; } = entries;

    public static MountTable Read(string path = "/proc/self/mountinfo") => Parse(File.ReadAllLines(path));

    /// <summary>Parses mountinfo lines: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".</summary>
    public static MountTable Parse(IEnumerable<string> lines)
    {
        var entries = new List<MountEntry>();
        foreach (var line in lines)
        {
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (fields.Length < 10 || dash < 6 || dash + 3 > fields.Length)
            {
                continue;
            }
            var dev = fields[2].Split(':');
            if (dev.Length != 2 || !int.TryParse(dev[0], CultureInfo.InvariantCulture, out var major)
                || !int.TryParse(dev[1], CultureInfo.InvariantCulture, out var minor))
            {
                continue;
            }
            var options = fields[5].Split(',');
            var superOptions = fields[dash + 3].Split(',');
            entries.Add(new MountEntry(major, minor, Unescape(fields[4]), fields[dash + 1], Unescape(fields[dash + 2]),
                options.Contains("ro") || superOptions.Contains("ro")));
        }
        return new MountTable(entries);
    }

    public IEnumerable<MountEntry> ForDevice(int major, int minor) => Entries.Where(e => e.Major == major && e.Minor == minor);

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo octal.</summary>
    private static string Unescape(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length
                && text.Substring(i + 1, 3).All(c => c is >= '0' and <= '7'))
            {
                sb.Append((char)Convert.ToInt32(text.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(text[i]);
            }
        }
        return sb.ToString();
    }
}
