using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;

namespace Ferry.Transfer.Files;

/// <summary>
/// What makes a target layout buildable, checked by the agent before it starts and again by the
/// receiver, which never trusts the agent: boot mode, partition tables, filesystems, mount points,
/// sizes, and for every partition room for the source's data. Partitions start on 1 MiB boundaries;
/// GPT keeps its last MiB for the backup table; GPT with BIOS boot gets a 1 MiB BIOS-boot partition first on the disk that holds / or /boot,
/// where GRUB puts its core image.
/// </summary>
public static class LayoutRules
{
    public const long Mib = 1 << 20;
    public const int MaxDisks = 16;
    public const long MaxDiskBytes = 1L << 50;
    public const long MaxMbrDiskBytes = 2L << 40;

    public static readonly IReadOnlyList<string> Filesystems = ["ext4", "xfs", "vfat", "swap"];

    /// <summary>
    /// The smallest partition that holds <paramref name="usedBytes"/> of a source filesystem: the data,
    /// a tenth more for the new filesystem's own metadata and fragmentation, and 64 MiB for its journal;
    /// XFS needs 300 MiB at least (mkfs.xfs refuses smaller).
    /// </summary>
    public static long MinimumBytes(string filesystem, long usedBytes)
    {
        var minimum = RoundUp(usedBytes + (usedBytes / 10) + (64 * Mib));
        return filesystem == "xfs" ? Math.Max(minimum, 300 * Mib) : filesystem == "swap" ? Mib : minimum;
    }

    /// <exception cref="FerryException">E_LAYOUT_INVALID or E_PARTITION_TOO_SMALL, naming the disk and partition.</exception>
    public static void Validate(TargetLayout layout)
    {
        if (layout.BootMode is not ("bios" or "uefi"))
        {
            throw Invalid($"boot mode '{layout.BootMode}' must be bios or uefi");
        }
        if (layout.Disks.Count is 0 or > MaxDisks)
        {
            throw Invalid($"a layout needs 1 to {MaxDisks} disks");
        }
        if (layout.Disks.Select(d => d.Index).Distinct().Count() != layout.Disks.Count || layout.Disks.Select(d => d.Name).Distinct().Count() != layout.Disks.Count)
        {
            throw Invalid("disk indexes and names must be distinct");
        }
        var mounts = new HashSet<string>(StringComparer.Ordinal);
        var trees = new HashSet<uint>();
        foreach (var disk in layout.Disks)
        {
            ValidateDisk(disk, mounts, trees);
            Plan(disk, layout.BootMode);
        }
    }

    /// <summary>The partitions of <paramref name="disk"/> with their places, sizes of 0 resolved to the rest of the disk.</summary>
    public static IReadOnlyList<PlannedPartition> Plan(LayoutDisk disk, string bootMode)
    {
        var planned = new List<PlannedPartition>();
        var at = Mib;
        var end = (long)disk.SizeBytes - (disk.PartitionTable == "gpt" ? Mib : 0);
        var number = 1;
        if (disk.PartitionTable == "gpt" && bootMode == "bios" && disk.Partitions.Any(p => p.MountPoint is "/" or "/boot"))
        {
            planned.Add(new PlannedPartition(number++, at, Mib, null));
            at += Mib;
        }
        foreach (var (p, i) in disk.Partitions.Select((p, i) => (p, i)))
        {
            var size = p.SizeBytes == 0 ? end - at : RoundUp((long)p.SizeBytes);
            var where = Describe(disk, i, p);
            if (size <= 0 || at + size > end)
            {
                throw Invalid($"{where} does not fit: the disk's {disk.SizeBytes >> 20} MiB hold {Math.Max(0, end - at) >> 20} MiB from there");
            }
            var minimum = p.Mode == "block" ? (long)p.SizeBytes : MinimumBytes(p.Filesystem, (long)p.UsedBytes);
            if (size < minimum)
            {
                throw new FerryException(ErrorCode.PartitionTooSmall,
                    $"{where} is {size >> 20} MiB but needs at least {minimum >> 20} MiB ({p.UsedBytes >> 20} MiB in use on the source)",
                    $"Give {where} {minimum >> 20} MiB or more, or free space on the source.");
            }
            planned.Add(new PlannedPartition(number++, at, size, p));
            at += size;
        }
        return planned;
    }

    private static void ValidateDisk(LayoutDisk disk, HashSet<string> mounts, HashSet<uint> trees)
    {
        if (!ControlMetadata.IsSafeName(disk.Name))
        {
            throw Invalid($"disk name '{disk.Name}' must be 1-64 letters, digits, '.', '_' or '-'");
        }
        if (disk.PartitionTable is not ("gpt" or "mbr"))
        {
            throw Invalid($"disk {disk.Name}: partition table '{disk.PartitionTable}' must be gpt or mbr");
        }
        if (disk.SizeBytes < 8 * Mib || disk.SizeBytes > MaxDiskBytes || (disk.PartitionTable == "mbr" && disk.SizeBytes > MaxMbrDiskBytes))
        {
            throw Invalid($"disk {disk.Name}: size {disk.SizeBytes} bytes is outside 8 MiB..{(disk.PartitionTable == "mbr" ? "2 TiB (MBR)" : "1 PiB")}");
        }
        if (disk.Partitions.Count == 0 || disk.Partitions.Count > (disk.PartitionTable == "mbr" ? 4 : 64))
        {
            throw Invalid($"disk {disk.Name}: {disk.Partitions.Count} partitions (an MBR disk holds 1-4 here, GPT 1-64)");
        }
        foreach (var (p, i) in disk.Partitions.Select((p, i) => (p, i)))
        {
            var where = Describe(disk, i, p);
            if (p.Mode is not ("" or "file" or "block"))
            {
                throw Invalid($"{where}: mode '{p.Mode}' must be file or block");
            }
            if (p.Mode == "block")
            {
                if (p.SizeBytes == 0 || !IsMountPoint(p.MountPoint) || !mounts.Add(p.MountPoint))
                {
                    throw Invalid($"{where}: a block-mode partition keeps its source's size and needs its mount point, used once");
                }
                continue;
            }
            if (!Filesystems.Contains(p.Filesystem))
            {
                throw Invalid($"{where}: filesystem '{p.Filesystem}' is not one of {string.Join(", ", Filesystems)}");
            }
            if (p.SizeBytes == 0 && i != disk.Partitions.Count - 1)
            {
                throw Invalid($"{where}: only the last partition may take the rest of the disk (size 0)");
            }
            if (p.Filesystem == "swap")
            {
                if (p.MountPoint.Length > 0)
                {
                    throw Invalid($"{where}: swap has no mount point");
                }
                continue;
            }
            if (!IsMountPoint(p.MountPoint) || !mounts.Add(p.MountPoint))
            {
                throw Invalid($"{where}: mount point '{p.MountPoint}' must be an absolute path without '.', '..' or '//', used once");
            }
            if (!trees.Add(p.Tree))
            {
                throw Invalid($"{where}: tree {p.Tree} is used twice");
            }
            if (p.Label.Length > (p.Filesystem switch { "xfs" => 12, "vfat" => 11, _ => 16 }) || p.Label.Any(c => c < ' ' || c == '/'))
            {
                throw Invalid($"{where}: label '{p.Label}' is too long or has control characters for {p.Filesystem}");
            }
            if (p.Uuid.Length > 0 && !(p.Filesystem == "vfat" ? IsVfatSerial(p.Uuid) : Guid.TryParse(p.Uuid, out _)))
            {
                throw Invalid($"{where}: '{p.Uuid}' is not a valid {p.Filesystem} UUID");
            }
            if (p.SourceDevice.Length > 0 && (!p.SourceDevice.StartsWith("/dev/", StringComparison.Ordinal) || p.SourceDevice.Length > 128 || p.SourceDevice.Any(c => c <= ' ')))
            {
                throw Invalid($"{where}: the source device must be a /dev path of at most 128 characters without spaces");
            }
            if (!FeaturesAreWellFormed(p) || p.BlockSize is not (0 or 1024 or 2048 or 4096) || p.InodeSize is not (0 or 128 or 256 or 512 or 1024))
            {
                throw Invalid($"{where}: the filesystem features, block size or inode size are malformed");
            }
        }
    }

    public static bool IsBlock(LayoutPartition p) => p.Mode == "block";

    /// <summary>XFS settings the receiver passes to mkfs.xfs -m/-i; nothing else is accepted.</summary>
    public static readonly IReadOnlyList<string> XfsSettings = ["crc", "finobt", "rmapbt", "reflink", "inobtcount", "bigtime", "sparse", "nrext64"];

    private static bool FeaturesAreWellFormed(LayoutPartition p) => p.Features.Count <= 40 && p.Filesystem switch
    {
        "ext4" => p.Features.All(f => f.Length is > 0 and <= 32 && f.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')),
        "xfs" => p.Features.All(f => f.Split('=') is [var name, "0" or "1"] && XfsSettings.Contains(name)),
        _ => p.Features.Count == 0,
    };

    public static bool IsMountPoint(string path) =>
        path == "/" || (path.StartsWith('/') && !path.EndsWith('/') && path.Length <= 1024
            && path[1..].Split('/').All(c => c.Length > 0 && c != "." && c != ".." && !c.Contains('\0', StringComparison.Ordinal)));

    private static bool IsVfatSerial(string text) =>
        text.Length == 9 && text[4] == '-' && text.Remove(4, 1).All(char.IsAsciiHexDigit);

    private static string Describe(LayoutDisk disk, int index, LayoutPartition p) =>
        $"disk {disk.Name} partition {index + 1}" + (p.MountPoint.Length > 0 ? $" ({p.MountPoint})" : $" ({p.Filesystem})");

    private static long RoundUp(long bytes) => (bytes + Mib - 1) / Mib * Mib;

    private static FerryException Invalid(string message) =>
        new(ErrorCode.LayoutInvalid, "target layout: " + message, "Correct the layout document (see the README's example) and run again.");
}
