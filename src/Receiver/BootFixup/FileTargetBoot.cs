using Ferry.Receiver.Hosting;
using Ferry.Receiver.Layout;
using Ferry.Transfer.Files;
using Ferry.Transfer.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// Makes the disks of a file replication bootable where the source booted with GRUB for BIOS: the
/// <see cref="SystemFixup"/> (with fresh UUIDs, every reference in /etc/fstab, grub.cfg and
/// /etc/default/grub follows the new ones; each change logged with file, line and reason); then
/// GRUB's boot code goes onto the disk holding /boot (or /). A system with a kernel and no GRUB
/// configuration fails the job rather than deliver a disk that cannot boot. Runs while the target filesystems are mounted (<see cref="PlanAsync"/>), and
/// writes the boot code once they are detached (<see cref="InstallAsync"/>).
/// </summary>
public sealed class FileTargetBoot
{
    private readonly List<(string Raw, long Lba, long Sectors, string Uuid, string Prefix, string Modules)> _installs = [];

    private FileTargetBoot()
    {
    }

    /// <summary>Whether the fix-up changed files in the target filesystems (so they no longer hold just what was synced).</summary>
    public bool ChangedFiles { get; private set; }

    public static async Task<FileTargetBoot> PlanAsync(TargetDisks disks, ILogger log, CancellationToken ct)
    {
        var boot = new FileTargetBoot();
        var layout = disks.Layout;
        var partitions = layout.Disks.SelectMany(d => d.Partitions).Where(p => !LayoutRules.IsBlock(p) && p.Filesystem != "swap").ToList();
        var root = partitions.FirstOrDefault(p => p.MountPoint == "/");
        var uuids = new Dictionary<LayoutPartition, string>();
        foreach (var p in partitions)
        {
            uuids[p] = (await ExternalTool.RunAsync("blkid", ct, "-p", "-s", "UUID", "-o", "value", disks.DeviceOf(p))).Trim();
        }
        if (root is not null)
        {
            var references = new DiskReferences();
            foreach (var p in partitions.Where(p => p.SourceDevice.Length > 0))
            {
                references.Device(p.SourceDevice, uuids[p]);
            }
            if (layout.FreshUuids)
            {
                foreach (var p in partitions.Where(p => p.Uuid.Length > 0))
                {
                    references.Uuid(p.Uuid, uuids[p]);
                }
            }
            var bootPartition = partitions.FirstOrDefault(p => p.MountPoint == "/boot");
            using var rootFs = new TargetRoot(disks.Trees[root.Tree].MountPath);
            using var bootFs = bootPartition is null ? null : new TargetRoot(disks.Trees[bootPartition.Tree].MountPath);
            var fixup = SystemFixup.Plan(rootFs, bootFs, references);
            boot.ChangedFiles = fixup.ChangesFiles;
            await fixup.ApplyAsync(log, ct);
        }
        if (layout.BootMode != "bios")
        {
            return boot;
        }
        foreach (var disk in layout.Disks)
        {
            var plan = LayoutRules.Plan(disk, layout.BootMode);
            var holder = plan.Select(p => p.Partition).FirstOrDefault(p => p?.MountPoint == "/boot" && !LayoutRules.IsBlock(p))
                ?? plan.Select(p => p.Partition).FirstOrDefault(p => p?.MountPoint == "/" && !LayoutRules.IsBlock(p));
            if (holder is null)
            {
                continue;
            }
            var prefix = holder.MountPoint == "/boot" ? "/grub" : "/boot/grub";
            var config = Path.Combine(disks.Trees[holder.Tree].MountPath, prefix.TrimStart('/'), "grub.cfg");
            if (!File.Exists(config))
            {
                if (HasKernel(disks, holder))
                {
                    throw new IOException($"the target's {holder.MountPoint} holds a kernel but no GRUB configuration at {prefix}/grub.cfg: Ferry cannot make disk {disk.Name} boot");
                }
                log.LogWarning("No GRUB configuration at {Prefix}/grub.cfg on the target's {MountPoint}: disk {Disk} gets no boot code and will not boot by itself",
                    prefix, holder.MountPoint, disk.Name);
                continue;
            }
            var ownModules = root is null ? null : Path.Combine(disks.Trees[root.Tree].MountPath, "usr", "lib", "grub", "i386-pc");
            var modules = ownModules is not null && File.Exists(Path.Combine(ownModules, "boot.img")) ? ownModules : GrubBiosInstaller.ReceiverModules;
            var (lba, sectors) = plan[0].IsBiosBoot
                ? (plan[0].StartBytes / 512, plan[0].SizeBytes / 512)
                : (1L, (plan[0].StartBytes / 512) - 1);
            boot._installs.Add((disks.RawPathOf(disk), lba, sectors, uuids[holder], prefix, modules));
        }
        return boot;
    }

    /// <summary>Writes the planned boot code; the disks must be detached.</summary>
    public async Task InstallAsync(ILogger log, CancellationToken ct)
    {
        foreach (var (raw, lba, sectors, uuid, prefix, modules) in _installs)
        {
            await GrubBiosInstaller.InstallAsync(raw, lba, sectors, uuid, prefix, modules, log, ct);
        }
    }

    /// <summary>Whether the filesystem holding /boot has a kernel (vmlinuz-*), i.e. the tree is a system meant to boot.</summary>
    private static bool HasKernel(TargetDisks disks, LayoutPartition holder)
    {
        using var fs = new TargetRoot(disks.Trees[holder.Tree].MountPath);
        return fs.HasKernel(holder.MountPoint == "/boot" ? "/" : "/boot");
    }
}
