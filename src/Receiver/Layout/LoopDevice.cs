using Ferry.Disks.Mounts;
using Ferry.Receiver.Hosting;

namespace Ferry.Receiver.Layout;

/// <summary>Disk image files as block devices: attached with their partitions; they and the mounts on them released best effort.</summary>
public static class LoopDevice
{
    /// <summary>Attaches <paramref name="raw"/> and waits for the nodes of <paramref name="partitions"/>; returns /dev/loopN.</summary>
    public static async Task<string> AttachAsync(string raw, IReadOnlyCollection<int> partitions, CancellationToken ct)
    {
        var loop = (await ExternalTool.RunAsync("losetup", ct, "--find", "--show", "--partscan", raw)).Trim();
        try
        {
            await WaitForPartitionsAsync(loop, partitions, ct);
            return loop;
        }
        catch
        {
            await TryRunAsync("losetup", CancellationToken.None, "-d", loop);
            throw;
        }
    }

    /// <summary>The partition numbers in the table of an image file (none when it has no table).</summary>
    public static async Task<List<int>> PartitionNumbersAsync(string raw, CancellationToken ct)
    {
        try
        {
            return (await ExternalTool.RunAsync("partx", ct, "-g", "-o", "NR", raw))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>Unmounts everything mounted beneath <paramref name="directory"/>, deepest first; true when nothing is left mounted there.</summary>
    public static async Task<bool> UnmountBeneathAsync(string directory, CancellationToken ct)
    {
        var prefix = Path.GetFullPath(directory) + "/";
        foreach (var mount in Beneath(prefix).OrderByDescending(m => m.MountPoint.Length))
        {
            await TryRunAsync("umount", ct, mount.MountPoint);
        }
        return !Beneath(prefix).Any();
    }

    private static IEnumerable<MountEntry> Beneath(string prefix) =>
        MountTable.Read().Entries.Where(m => m.MountPoint.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Runs a releasing command (umount, losetup -d); what is already gone need not be released.</summary>
    public static async Task TryRunAsync(string tool, CancellationToken ct, params string[] args)
    {
        try
        {
            await ExternalTool.RunAsync(tool, args, ct);
        }
        catch (IOException)
        {
        }
    }

    private static async Task WaitForPartitionsAsync(string loop, IReadOnlyCollection<int> partitions, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 250; attempt++)
        {
            if (partitions.All(n => File.Exists($"{loop}p{n}")))
            {
                return;
            }
            if (attempt == 0)
            {
                // No udev here (containers, minimal hosts), or not yet: ask the kernel for the partition nodes directly
                // (where udev made them meanwhile, partx says they exist, which is fine). Waiting first cost 0.2 s a session.
                await TryRunAsync("partx", ct, "-a", loop);
                continue;
            }
            await Task.Delay(20, ct);
        }
        throw new IOException($"the partitions of {loop} did not appear");
    }
}
