using System.Globalization;
using Ferry.Disks;
using Ferry.Disks.Filesystems;
using Ferry.Disks.Interop;
using Ferry.Disks.Mounts;
using Ferry.Disks.Partitions;

namespace Ferry.Agent.Inventory;

/// <summary>
/// Collects the source's inventory from the kernel (/proc, /sys) and from on-disk structures the
/// agent parses itself, so it works on minimal systems without blkid, lsblk or udev.
/// </summary>
public static class InventoryCollector
{
    public static SystemInventory Collect(bool includeLoop, IReadOnlyList<string> devices, Action<string> warn)
    {
        var mounts = MountTable.Read();
        var names = devices.Count > 0
            ? devices.Select(DiskName).ToList()
            : SysBlock.Disks().Where(n => SysBlock.IsListedByDefault(n, includeLoop) && SysBlock.SizeBytes(n) > 0).ToList();
        var disks = new List<DiskEntry>();
        foreach (var name in names)
        {
            try
            {
                disks.Add(CollectDisk(name, mounts));
            }
            catch (DiskException e) when (devices.Count == 0)
            {
                warn($"{name} is left out of the inventory: {e.Message}");
            }
        }

        var osRelease = ReadKeyValues("/etc/os-release");
        var cpuInfo = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : [];
        return new SystemInventory(
            Hostname: ReadTrim("/proc/sys/kernel/hostname") ?? Environment.MachineName,
            OsName: osRelease.GetValueOrDefault("PRETTY_NAME") ?? osRelease.GetValueOrDefault("NAME") ?? "Linux",
            OsId: osRelease.GetValueOrDefault("ID"),
            OsVersion: osRelease.GetValueOrDefault("VERSION_ID"),
            Kernel: ReadTrim("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString,
            Cpus: cpuInfo.Count(l => l.StartsWith("processor", StringComparison.Ordinal)),
            CpuModel: cpuInfo.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim(),
            MemoryBytes: MemTotal(),
            BootMode: Directory.Exists("/sys/firmware/efi") ? "uefi" : "bios",
            Disks: disks);
    }

    /// <summary>The kernel name of a disk given as /dev/X, a link to it, or a bare name.</summary>
    public static string DiskName(string device)
    {
        var path = device.Contains('/', StringComparison.Ordinal) ? device : "/dev/" + device;
        var info = new FileInfo(path);
        var target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path : path;
        return Path.GetFileName(target);
    }

    public static DiskEntry CollectDisk(string name, MountTable mounts)
    {
        using var device = BlockDevice.OpenRead("/dev/" + name);
        var table = PartitionTableReader.Read(device.Handle, device.Path, device.SizeBytes, device.LogicalSectorSize);
        var partNames = SysBlock.PartitionNames(name);
        var partitions = table.Partitions.Select(p =>
        {
            var partName = partNames.GetValueOrDefault(p.Number);
            var fs = p.IsExtended ? null : Probe(new DeviceRegion(device, p.StartBytes, p.SizeBytes), partName, mounts);
            return new PartitionEntry(p.Number, partName is null ? null : "/dev/" + partName, p.StartBytes, p.SizeBytes,
                p.Type, p.UniqueId, string.IsNullOrEmpty(p.Name) ? null : p.Name, p.Bootable, fs);
        }).ToList();

        var mbr = new byte[512];
        device.ReadExactly(mbr, 0);
        var bootCode = mbr.AsSpan(0, 440).IndexOfAnyExcept((byte)0) < 0 ? "none"
            : mbr.AsSpan(0, 440).IndexOf("GRUB"u8) >= 0 ? "grub" : "other";
        var loaders = new List<string>();
        if (bootCode == "grub")
        {
            loaders.Add("grub-bios");
        }
        if (table.Partitions.Any(p => p.IsBiosBoot))
        {
            loaders.Add("bios-boot-partition");
        }
        if (table.Partitions.Any(p => p.IsEfiSystem))
        {
            loaders.Add("efi-system-partition");
        }

        return new DiskEntry(
            Name: name,
            Path: "/dev/" + name,
            SizeBytes: device.SizeBytes,
            LogicalSectorSize: device.LogicalSectorSize,
            Model: SysBlock.Model(name),
            Rotational: SysBlock.Rotational(name),
            PartitionTable: table.Scheme switch { PartitionScheme.Gpt => "gpt", PartitionScheme.Mbr => "dos", _ => "none" },
            DiskId: table.DiskId,
            BootCode: bootCode,
            Bootloaders: loaders,
            Filesystem: table.Scheme == PartitionScheme.None ? Probe(DeviceRegion.WholeDisk(device), name, mounts) : null,
            Partitions: partitions);
    }

    private static FilesystemEntry? Probe(IByteReader region, string? kernelName, MountTable mounts)
    {
        var fs = FilesystemProbe.Probe(region);
        if (fs is null)
        {
            return null;
        }
        var dev = kernelName is null ? null : SysBlock.Device(kernelName);
        var mounted = dev is { } d ? mounts.ForDevice(d.Major, d.Minor).ToList() : [];
        var used = mounted.Count > 0 ? FilesystemSpace.TryRead(mounted[0].MountPoint)?.UsedBytes ?? fs.UsedBytes : fs.UsedBytes;
        return new FilesystemEntry(fs.Type, fs.Uuid, fs.Label, fs.SizeBytes, used,
            mounted.Select(m => m.MountPoint).ToList(), mounted.Count > 0 && mounted.All(m => m.ReadOnly));
    }

    private static Dictionary<string, string> ReadKeyValues(string path)
    {
        var result = new Dictionary<string, string>();
        if (!File.Exists(path))
        {
            return result;
        }
        foreach (var line in File.ReadLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"');
            }
        }
        return result;
    }

    private static long MemTotal()
    {
        var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) : null;
        var kb = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return long.TryParse(kb, CultureInfo.InvariantCulture, out var v) ? v * 1024 : 0;
    }

    private static string? ReadTrim(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;
}
