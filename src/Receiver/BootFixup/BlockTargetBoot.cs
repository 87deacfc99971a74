using System.Globalization;
using Ferry.Receiver.Hosting;
using Ferry.Receiver.Layout;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// The boot fix-up of a block replication. The disks arrive as they were, boot code and all, so
/// what can stop them booting on the new machine is the system's configuration: it finds the root
/// filesystem (the one holding /etc/fstab) and the /boot its fstab names, plans the
/// <see cref="SystemFixup"/> on read-only mounts that replay no journal, and only when something
/// must change mounts them read-write and applies it. A system that needs nothing stays
/// byte-identical to the source; disks with no operating system are stored as copied.
/// </summary>
public static class BlockTargetBoot
{
    private static readonly string[] SystemFilesystems = ["ext4", "ext3", "ext2", "xfs", "btrfs"];

    /// <param name="disks">Each source disk's device name (sda, nvme0n1) and its image file.</param>
    /// <param name="workDirectory">Where the filesystems are mounted meanwhile (created and removed here).</param>
    public static async Task RunAsync(IReadOnlyList<(string Name, string Raw)> disks, string workDirectory, ILogger log, CancellationToken ct)
    {
        await ReleaseAsync(workDirectory);
        var loops = new List<string>();
        try
        {
            var filesystems = new List<Filesystem>();
            var references = new DiskReferences();
            foreach (var (name, raw) in disks)
            {
                var numbers = await LoopDevice.PartitionNumbersAsync(raw, ct);
                var loop = await LoopDevice.AttachAsync(raw, numbers, ct);
                loops.Add(loop);
                foreach (var (number, device) in numbers.Count == 0 ? [(0, loop)] : numbers.Select(n => (n, $"{loop}p{n}")))
                {
                    if (await ProbeAsync(device, ct) is { } fs)
                    {
                        filesystems.Add(fs);
                        if (number > 0 && fs.Uuid.Length > 0)
                        {
                            references.Device("/dev/" + PartitionName(name, number), fs.Uuid);
                        }
                    }
                }
            }
            var bootable = filesystems.Any(f => f.Type == "vfat") || disks.Any(d => HasBootCode(d.Raw));
            await FixAsync(filesystems, references, bootable, workDirectory, log, ct);
        }
        finally
        {
            await ReleaseAsync(workDirectory);
            foreach (var loop in loops)
            {
                await LoopDevice.TryRunAsync("losetup", CancellationToken.None, "-d", loop);
            }
        }
    }

    /// <summary>The kernel's name of partition <paramref name="number"/> of disk <paramref name="disk"/>: sda1, xvda1, nvme0n1p1, mmcblk0p1.</summary>
    public static string PartitionName(string disk, int number) =>
        disk + (char.IsAsciiDigit(disk[^1]) ? "p" : "") + number.ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether the MBR holds boot code (its first 440 bytes are not all zero).</summary>
    private static bool HasBootCode(string raw)
    {
        using var file = File.OpenHandle(raw);
        var code = new byte[440];
        return RandomAccess.Read(file, code, 0) == code.Length && code.AsSpan().ContainsAnyExcept((byte)0);
    }

    private static async Task FixAsync(List<Filesystem> filesystems, DiskReferences references, bool bootable, string work, ILogger log, CancellationToken ct)
    {
        Filesystem? root = null;
        foreach (var fs in filesystems.Where(f => SystemFilesystems.Contains(f.Type)))
        {
            string path;
            try
            {
                path = await MountAsync(fs, work, "root", writable: false, ct);
            }
            catch (IOException e)
            {
                // A data filesystem the receiver's kernel cannot mount is not the system; it is stored as copied.
                log.LogWarning("Boot fix-up: {Device} ({Type}) could not be mounted to look for a system: {Reason}", fs.Device, fs.Type, e.Message);
                continue;
            }
            using (var candidate = new TargetRoot(path))
            {
                if (candidate.IsFile("/etc/fstab"))
                {
                    root = fs;
                    break;
                }
            }
            await LoopDevice.TryRunAsync("umount", ct, path);
        }
        if (root is null)
        {
            log.LogInformation("Boot fix-up: no filesystem on the disks holds /etc/fstab, so there is no system to adjust; the disks are stored as copied");
            return;
        }
        var boot = await FindBootAsync(root, filesystems, references, work, ct);
        if (!bootable)
        {
            using var kernels = new TargetRoot(Path.Combine(work, boot is null ? "root" : "boot"));
            if (kernels.HasKernel(boot is null ? "/boot" : "/"))
            {
                throw new IOException($"the system on {root.Device} has a kernel, but no disk carries boot code in its MBR and none has an EFI system partition: no bootloader was found, so the image could not boot");
            }
        }
        bool needed;
        using (var rootFs = new TargetRoot(Path.Combine(work, "root")))
        using (var bootFs = boot is null ? null : new TargetRoot(Path.Combine(work, "boot")))
        {
            needed = SystemFixup.Plan(rootFs, bootFs, references).HasWork;
        }
        await ReleaseAsync(work);
        if (!needed)
        {
            log.LogInformation("Boot fix-up: the system on {Device} needs no change for the new machine", root.Device);
            return;
        }
        // Read-write now: the journal is replayed as the kernel would at boot, and the plan is made again on what that gives.
        using var writableRoot = new TargetRoot(await MountAsync(root, work, "root", writable: true, ct));
        using var writableBoot = boot is null ? null : new TargetRoot(await MountAsync(boot, work, "boot", writable: true, ct));
        await SystemFixup.Plan(writableRoot, writableBoot, references).ApplyAsync(log, ct);
    }

    /// <summary>The filesystem the root's fstab mounts at /boot, mounted read-only at WORK/boot; null when /boot is part of the root.</summary>
    private static async Task<Filesystem?> FindBootAsync(Filesystem root, List<Filesystem> filesystems, DiskReferences references, string work, CancellationToken ct)
    {
        using var rootFs = new TargetRoot(Path.Combine(work, "root"));
        var spec = FstabEntries(rootFs.ReadText("/etc/fstab") ?? "").FirstOrDefault(e => e.MountPoint == "/boot").Spec;
        if (spec is null)
        {
            return null;
        }
        var uuid = references.Resolve(spec)?.Replacement is { } byDevice && byDevice.StartsWith("UUID=", StringComparison.Ordinal) ? byDevice[5..] : null;
        var boot = filesystems.FirstOrDefault(f => f != root && (
            (uuid is not null && f.Uuid == uuid)
            || spec.Equals("UUID=" + f.Uuid, StringComparison.OrdinalIgnoreCase) || spec == "/dev/disk/by-uuid/" + f.Uuid
            || (f.Label.Length > 0 && (spec == "LABEL=" + f.Label || spec == "/dev/disk/by-label/" + f.Label))));
        if (boot is null)
        {
            throw new IOException($"the system's /etc/fstab mounts /boot from {spec}, which is on none of the migrated disks");
        }
        await MountAsync(boot, work, "boot", writable: false, ct);
        return boot;
    }

    private static IEnumerable<(string Spec, string MountPoint)> FstabEntries(string text) =>
        text.Split('\n').Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 2 && !f[0].StartsWith('#')).Select(f => (f[0], f[1]));

    private static async Task<string> MountAsync(Filesystem fs, string work, string name, bool writable, CancellationToken ct)
    {
        var path = Path.Combine(work, name);
        Directory.CreateDirectory(path);
        // Read-only means no write at all: ext4 without its journal replayed, XFS without log recovery.
        var options = (fs.Type, writable) switch
        {
            ("xfs", false) => "ro,norecovery,nouuid",
            ("xfs", true) => "nouuid",
            (_, false) when fs.Type.StartsWith("ext", StringComparison.Ordinal) => "ro,noload",
            (_, false) => "ro",
            _ => "defaults",
        };
        // Never a set-id program or a device node of the source's in effect on the receiver.
        await ExternalTool.RunAsync("mount", ct, "-t", fs.Type, "-o", options + ",nosuid,nodev", fs.Device, path);
        return path;
    }

    private static async Task<Filesystem?> ProbeAsync(string device, CancellationToken ct)
    {
        string output;
        try
        {
            output = await ExternalTool.RunAsync("blkid", ct, "-p", "-o", "export", device);
        }
        catch (IOException)
        {
            return null; // no filesystem signature (blkid exits 2)
        }
        var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);
        return values.TryGetValue("TYPE", out var type)
            ? new Filesystem(device, type, values.GetValueOrDefault("UUID", ""), values.GetValueOrDefault("LABEL", ""))
            : null;
    }

    private static async Task ReleaseAsync(string work)
    {
        if (await LoopDevice.UnmountBeneathAsync(work, CancellationToken.None) && Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private sealed record Filesystem(string Device, string Type, string Uuid, string Label);
}
