using System.Globalization;

namespace Ferry.Agent.Inventory;

/// <summary>Reads block-device facts from sysfs (/sys/class/block), which needs no udev.</summary>
internal static class SysBlock
{
    private const string Root = "/sys/class/block";

    /// <summary>Whole disks the kernel knows, from /proc/partitions, without partitions.</summary>
    public static IEnumerable<string> Disks() =>
        File.ReadLines("/proc/partitions").Skip(2)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 4)
            .Select(f => f[3])
            .Where(n => !File.Exists(Path.Combine(Root, n, "partition")));

    public static long SizeBytes(string name) => ReadLong(name, "size") * 512;

    public static int LogicalSectorSize(string name) => (int)Math.Max(512, ReadLong(name, "queue/logical_block_size"));

    public static bool Rotational(string name) => ReadLong(name, "queue/rotational") == 1;

    public static string? Model(string name) => Read(name, "device/model")?.Trim() is { Length: > 0 } m ? m : null;

    /// <summary>"major:minor" of a disk or partition.</summary>
    public static (int Major, int Minor)? Device(string name)
    {
        var text = Read(name, "dev")?.Trim().Split(':');
        return text is { Length: 2 } && int.TryParse(text[0], CultureInfo.InvariantCulture, out var major)
            && int.TryParse(text[1], CultureInfo.InvariantCulture, out var minor) ? (major, minor) : null;
    }

    /// <summary>The kernel's partition device names of a disk by partition number (sda1, nvme0n1p1, loop0p1).</summary>
    public static Dictionary<int, string> PartitionNames(string disk)
    {
        var result = new Dictionary<int, string>();
        var dir = Path.Combine(Root, disk);
        if (!Directory.Exists(dir))
        {
            return result;
        }
        foreach (var sub in Directory.EnumerateDirectories(dir))
        {
            var partitionFile = Path.Combine(sub, "partition");
            if (File.Exists(partitionFile) && int.TryParse(File.ReadAllText(partitionFile).Trim(), CultureInfo.InvariantCulture, out var n))
            {
                result[n] = Path.GetFileName(sub);
            }
        }
        return result;
    }

    /// <summary>Whether a disk name is in the kinds Ferry lists by default (not loop, RAM, optical or floppy).</summary>
    public static bool IsListedByDefault(string name, bool includeLoop) =>
        !(name.StartsWith("ram", StringComparison.Ordinal) || name.StartsWith("zram", StringComparison.Ordinal)
          || name.StartsWith("sr", StringComparison.Ordinal) || name.StartsWith("fd", StringComparison.Ordinal)
          || (!includeLoop && name.StartsWith("loop", StringComparison.Ordinal)));

    private static long ReadLong(string name, string file) =>
        long.TryParse(Read(name, file)?.Trim(), CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static string? Read(string name, string file)
    {
        var path = Path.Combine(Root, name, file);
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
