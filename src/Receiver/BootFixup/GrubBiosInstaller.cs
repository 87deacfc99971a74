using System.Buffers.Binary;
using Ferry.Receiver.Hosting;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// Puts GRUB's BIOS boot code on a disk the receiver built for file replication, which starts with
/// an empty MBR: what <c>grub-bios-setup</c> does, without needing a GRUB drive map of loop devices.
/// A core image made with <c>grub-mkimage</c> (from the target's own GRUB modules when it has them,
/// so that core and modules are one version) finds the boot filesystem by UUID; it goes into the
/// MBR gap (MBR) or the BIOS-boot partition (GPT); boot.img's code goes into the MBR's first 440
/// bytes (the partition table stays); then the two sector pointers are patched.
/// </summary>
public static class GrubBiosInstaller
{
    public const string ReceiverModules = "/usr/lib/grub/i386-pc";

    private static readonly string[] Modules =
    [
        "biosdisk", "part_msdos", "part_gpt", "ext2", "xfs", "fat", "search", "search_fs_uuid", "normal", "linux", "linux16",
        "echo", "serial", "terminal", "test", "configfile", "gzio", "ls", "cat",
    ];

    /// <param name="raw">The target disk's raw file (not attached).</param>
    /// <param name="coreLba">Where core.img goes: sector 1 (MBR gap) or the BIOS-boot partition's first sector.</param>
    /// <param name="coreSectors">Room there, in 512-byte sectors.</param>
    /// <param name="bootUuid">UUID of the filesystem holding the GRUB directory.</param>
    /// <param name="prefix">The GRUB directory on it: "/grub" on a separate /boot, "/boot/grub" on /.</param>
    /// <param name="modules">A GRUB i386-pc directory (boot.img and the modules).</param>
    public static async Task InstallAsync(string raw, long coreLba, long coreSectors, string bootUuid, string prefix, string modules, ILogger log,
        CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("ferry-grub-");
        try
        {
            var config = Path.Combine(work.FullName, "load.cfg");
            var core = Path.Combine(work.FullName, "core.img");
            await File.WriteAllTextAsync(config, $"search.fs_uuid {bootUuid} root\nset prefix=($root){prefix}\n", ct);
            await ExternalTool.RunAsync("grub-mkimage", ["-O", "i386-pc", "-d", modules, "-o", core, "-c", config, "-p", prefix, .. Modules], ct);
            var image = await File.ReadAllBytesAsync(core, ct);
            var sectors = (image.Length + 511) / 512;
            if (sectors > coreSectors)
            {
                throw new IOException($"GRUB's core image needs {sectors} sectors, but only {coreSectors} are free before the first partition");
            }
            Array.Resize(ref image, sectors * 512);
            // diskboot.img's block list: the rest of core.img follows its first sector.
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(0x1f4), (ulong)coreLba + 1);
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x1fc), (ushort)(sectors - 1));

            var boot = await File.ReadAllBytesAsync(Path.Combine(modules, "boot.img"), ct);
            using var disk = File.OpenHandle(raw, FileMode.Open, FileAccess.ReadWrite);
            var mbr = new byte[512];
            RandomAccess.Read(disk, mbr, 0);
            boot.AsSpan(0, 440).CopyTo(mbr);
            // boot.img: where core.img starts, and no floppy probe (the jump GRUB patches for hard disks).
            BinaryPrimitives.WriteUInt64LittleEndian(mbr.AsSpan(0x5c), (ulong)coreLba);
            BinaryPrimitives.WriteUInt16LittleEndian(mbr.AsSpan(0x66), 0x9090);
            RandomAccess.Write(disk, image, coreLba * 512);
            RandomAccess.Write(disk, mbr, 0);
            Disks.Interop.Posix.Fsync(disk, raw);
            log.LogInformation("GRUB for BIOS installed on {Disk}: core image ({Sectors} sectors) at sector {Lba}, boot filesystem {Uuid}, prefix {Prefix}, modules from {Modules}",
                raw, sectors, coreLba, bootUuid, prefix, modules);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
