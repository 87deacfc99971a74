using System.Globalization;
using Ferry.Receiver.BootFixup;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// The receiver's boot fix-up after a block migration, on a source disk whose system is tied to its
/// machine: fstab and grub.cfg name partitions by device (/dev/loopNpM, the source's own name),
/// SELinux enforces, udev and ifcfg bind NICs to MAC addresses, and initramfs-tools lacks the
/// virtio drivers. Its update-initramfs is a FAKE (a busybox script: no real initramfs tool fits
/// a test disk) that records what the sandbox lets it see. Some of the source's links point at the
/// receiver's own files, which must stay untouched.
/// </summary>
[Collection("loop devices")]
public sealed class BootFixupTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task BlockMigratedSystem_IsAdjustedForTheNewMachine_InASandbox_AndOnlyOnce()
    {
        Requires.Tool("busybox");
        Requires.Tool("capsh");
        using var dir = new TempDir();
        var hostShadow = File.ReadAllBytes("/etc/shadow");
        using var source = BuildSourceDisk(dir, withKernel: false);
        var disk = Path.GetFileName(source.Device);
        var bootUuid = Uuid(source.Partition(1));
        var rootUuid = Uuid(source.Partition(2));
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "sys", "--format", "raw"]))
            .WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, run.Stderr);

        var image = Path.Combine(dir["out"], "sys", disk + ".raw");
        using (var target = LoopDisk.Create(image, 0, readOnly: true))
        {
            var root = target.Mount(2, dir["t-root"], "ro,noload");
            var boot = target.Mount(1, dir["t-boot"], "ro,noload");
            var fstab = File.ReadAllText(Path.Combine(root, "etc/fstab"));
            Assert.Contains($"UUID={rootUuid} / ext4", fstab, StringComparison.Ordinal);
            Assert.Contains($"UUID={bootUuid} /boot ext4", fstab, StringComparison.Ordinal);
            Assert.Contains("/dev/mapper/vg0-home /home", fstab, StringComparison.Ordinal); // not a partition of the source disk: left alone
            Assert.Contains($"root=UUID={rootUuid} ro", File.ReadAllText(Path.Combine(boot, "grub/grub.cfg")), StringComparison.Ordinal);
            Assert.Contains("SELINUX=permissive", File.ReadAllText(Path.Combine(root, "etc/selinux/config")), StringComparison.Ordinal);
            Assert.StartsWith("# disabled by Ferry: SUBSYSTEM==\"net\"", File.ReadAllText(Path.Combine(root, "etc/udev/rules.d/70-persistent-net.rules")).Split('\n')[1], StringComparison.Ordinal);
            Assert.Contains("# disabled by Ferry: HWADDR=52:54:00:12:34:56", File.ReadAllText(Path.Combine(root, "etc/sysconfig/network-scripts/ifcfg-eth0")), StringComparison.Ordinal);
            Assert.Contains("virtio_blk\n", File.ReadAllText(Path.Combine(root, "etc/initramfs-tools/modules")), StringComparison.Ordinal);

            // The FAKE update-initramfs ran once, inside the target, with /boot bound in and the sandbox's limits.
            Assert.Equal("rebuilt\n", File.ReadAllText(Path.Combine(boot, "initrd.img-fake")));
            var record = File.ReadAllLines(Path.Combine(root, "var/log/fake-initramfs.log"));
            output.WriteLine("what the FAKE update-initramfs saw in the sandbox:\n" + string.Join('\n', record));
            var seen = record.Select(l => l.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
            Assert.Equal("-u -k all", seen["args"]);
            var bounding = ulong.Parse(seen["CapBnd"].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            Assert.True((bounding & (1UL << 21)) == 0, $"CAP_SYS_ADMIN is in the sandbox's bounding set ({bounding:x})");
            Assert.True((bounding & (1UL << 18)) == 0, $"CAP_SYS_CHROOT is in the sandbox's bounding set ({bounding:x})");
            Assert.True((bounding & (1UL << 27)) == 0, $"CAP_MKNOD is in the sandbox's bounding set ({bounding:x})");
            Assert.Equal("lo,", seen["net"]);
            Assert.Equal("full,null,random,urandom,zero,", seen["dev"]);
            Assert.Equal("refused", seen["mount"]);
            Assert.DoesNotContain("FERRY", seen["env"], StringComparison.Ordinal);
            Assert.Contains("virtio_net", seen["modules"], StringComparison.Ordinal);
            target.UnmountAll();
        }
        Assert.Equal(hostShadow, File.ReadAllBytes("/etc/shadow"));

        // Idempotent: on the adjusted system, a second run changes nothing at all (not a byte of the image).
        var before = Sh.Run("sha256sum", image).Check("sha256sum").Stdout;
        await BlockTargetBoot.RunAsync([(disk, image)], dir["fixup-again"], NullLogger.Instance, CancellationToken.None);
        Assert.Equal(before, Sh.Run("sha256sum", image).Check("sha256sum").Stdout);
    }

    [Fact]
    public async Task BlockMigratedSystem_WithAKernelButNoBootloader_FailsTheJobWithBootFixup()
    {
        using var dir = new TempDir();
        using var source = BuildSourceDisk(dir, withKernel: true);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "sys", "--format", "raw"]))
            .WaitAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(10, run.ExitCode);
        Assert.Contains("E_BOOT_FIXUP", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("no bootloader was found", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir["out"], "sys", "manifest.json")), "an image that cannot boot was stored");
    }

    /// <summary>A GPT disk (no boot code) with an ext4 /boot (1) and / (2) built from <see cref="BuildSystem"/>.</summary>
    private static LoopDisk BuildSourceDisk(TempDir dir, bool withKernel)
    {
        var source = LoopDisk.Create(dir["source.img"], 256L << 20, "label: gpt\nsize=64MiB, type=linux\ntype=linux\n");
        var bootTree = Directory.CreateDirectory(dir["boot-tree"]).FullName;
        var rootTree = Directory.CreateDirectory(dir["root-tree"]).FullName;
        BuildSystem(rootTree, bootTree, Path.GetFileName(source.Device));
        if (withKernel)
        {
            File.WriteAllText(Path.Combine(bootTree, "vmlinuz-6.1.0-28-amd64"), "not really a kernel");
        }
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "boot", "-d", bootTree, source.Partition(1)).Check("mkfs.ext4 boot");
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "root", "-d", rootTree, source.Partition(2)).Check("mkfs.ext4 root");
        return source;
    }

    /// <summary>A root and a /boot tree of a system that names its disks by device (the source's <paramref name="disk"/>).</summary>
    private static void BuildSystem(string root, string boot, string disk)
    {
        foreach (var d in new[] { "etc/selinux", "etc/udev/rules.d", "etc/sysconfig/network-scripts", "etc/initramfs-tools", "etc/default", "usr/sbin", "bin", "proc", "dev", "tmp", "boot", "var/log", "mnt" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }
        Directory.CreateDirectory(Path.Combine(boot, "grub"));
        File.WriteAllText(Path.Combine(root, "etc/fstab"), $"""
            # <file system> <mount point> <type> <options> <dump> <pass>
            /dev/{disk}p2 / ext4 errors=remount-ro 0 1
            /dev/{disk}p1 /boot ext4 defaults 0 2
            /dev/mapper/vg0-home /home xfs defaults 0 2
            proc /proc proc defaults 0 0

            """);
        File.WriteAllText(Path.Combine(boot, "grub/grub.cfg"), $"menuentry 'Debian' {{\n  linux /vmlinuz-6.1.0-28-amd64 root=/dev/{disk}p2 ro quiet\n}}\n");
        File.WriteAllText(Path.Combine(root, "etc/selinux/config"), "# This file controls the state of SELinux on the system.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n");
        File.WriteAllText(Path.Combine(root, "etc/udev/rules.d/70-persistent-net.rules"),
            "# This file was automatically generated by the /lib/udev/write_net_rules\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:12:34:56\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n");
        File.WriteAllText(Path.Combine(root, "etc/sysconfig/network-scripts/ifcfg-eth0"), "DEVICE=eth0\nBOOTPROTO=dhcp\nHWADDR=52:54:00:12:34:56\nONBOOT=yes\n");
        File.WriteAllText(Path.Combine(root, "etc/initramfs-tools/modules"), "# List of modules that you want to include in your initramfs.\n");
        // Links a naive receiver would follow onto its own files: inside the target they resolve to nothing.
        File.CreateSymbolicLink(Path.Combine(root, "etc/default/grub"), "/etc/shadow");
        File.Copy(Sh.Run("which", "busybox").Check("which busybox").Stdout.Trim(), Path.Combine(root, "bin/busybox"));
        File.CreateSymbolicLink(Path.Combine(root, "bin/sh"), "busybox");
        var fake = Path.Combine(root, "usr/sbin/update-initramfs");
        File.WriteAllText(fake, """
            #!/bin/sh
            # FAKE update-initramfs (test only): records what the receiver's sandbox lets it see and do.
            b=/bin/busybox
            {
              echo "args=$*"
              $b grep CapBnd /proc/self/status | $b sed 's/^CapBnd:\t/CapBnd=/'
              echo "net=$($b awk 'NR > 2 { sub(":", "", $1); printf "%s,", $1 }' /proc/net/dev)"
              echo "dev=$($b ls /dev | $b tr '\n' ,)"
              echo "env=$($b env | $b tr '\n' ' ')"
              if $b mount -t tmpfs escape /mnt 2>/dev/null; then echo mount=allowed; else echo mount=refused; fi
              echo "modules=$($b tr '\n' ' ' < /etc/initramfs-tools/modules)"
            } > /var/log/fake-initramfs.log
            echo rebuilt > /boot/initrd.img-fake

            """);
        File.SetUnixFileMode(fake, (UnixFileMode)0x1ed);
    }

    private static string Uuid(string device) => Sh.Run("blkid", "-p", "-s", "UUID", "-o", "value", device).Check("blkid").Stdout.Trim();
}
