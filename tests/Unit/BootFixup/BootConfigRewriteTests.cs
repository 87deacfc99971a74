using Ferry.Receiver.BootFixup;
using Xunit;
using static Ferry.Tests.Unit.BootFixup.RecordedConfigs;

namespace Ferry.Tests.Unit.BootFixup;

/// <summary>
/// fstab and boot-loader rewriting on recorded real-world files: references that would not resolve
/// on the new machine are rewritten with a reason; everything else stays byte for byte; a second
/// pass changes nothing.
/// </summary>
public sealed class BootConfigRewriteTests
{
    private const string NewRoot = "aaaaaaaa-1111-4222-8333-444444444444";
    private const string NewSwap = "bbbbbbbb-1111-4222-8333-444444444444";
    private const string NewBoot = "cccccccc-1111-4222-8333-444444444444";

    [Fact]
    public void Fstab_DebianWithFreshUuids_RewritesRootAndSwapAndLeavesTheRest()
    {
        var refs = new DiskReferences().Uuid(RootUuid, NewRoot).Uuid(SwapUuid, NewSwap);

        var result = FstabRewriter.Rewrite(DebianFstab, refs);

        Assert.Equal(2, result.Changes.Count);
        Assert.Equal(DebianFstab.Replace(RootUuid, NewRoot, StringComparison.Ordinal).Replace(SwapUuid, NewSwap, StringComparison.Ordinal), result.Text);
        Assert.All(result.Changes, c => Assert.Contains("UUID changed", c.Reason, StringComparison.Ordinal));
        Assert.Equal(12, result.Changes[0].Line);
        AssertIdempotent(result.Text, refs, (t, r) => FstabRewriter.Rewrite(t, r));
    }

    [Fact]
    public void Fstab_DebianKeepingItsUuids_IsLeftExactlyAsItIs()
    {
        var result = FstabRewriter.Rewrite(DebianFstab, new DiskReferences());

        Assert.Empty(result.Changes);
        Assert.Equal(DebianFstab, result.Text);
    }

    [Fact]
    public void Fstab_UbuntuCloudLabels_RewritesTheChangedLabelKeepingTabs()
    {
        var result = FstabRewriter.Rewrite(UbuntuCloudFstab, new DiskReferences().Label("cloudimg-rootfs", "ferry-root"));

        Assert.Equal("LABEL=ferry-root\t/\t ext4\tdiscard,errors=remount-ro\t0 1\nLABEL=UEFI\t/boot/efi\tvfat\tumask=0077\t0 1\n", result.Text);
        Assert.Single(result.Changes);
    }

    [Fact]
    public void Fstab_RhelWithLvm_RewritesOnlyTheBootUuidAndLeavesLvmPathsAlone()
    {
        var result = FstabRewriter.Rewrite(RhelFstab, new DiskReferences().Uuid(BootUuid, NewBoot).Device("/dev/mapper/rhel-root", "should-not-matter-0000"));

        Assert.Contains("/dev/mapper/rhel-swap   none", result.Text, StringComparison.Ordinal);
        Assert.Contains($"UUID={NewBoot} /boot", result.Text, StringComparison.Ordinal);
        // An LVM path is mapped only if the caller maps it; here it was, to show the map decides, not a guess.
        Assert.Equal(2, result.Changes.Count);
        var unmapped = FstabRewriter.Rewrite(RhelFstab, new DiskReferences().Uuid(BootUuid, NewBoot));
        Assert.Single(unmapped.Changes);
        Assert.Contains("/dev/mapper/rhel-root   /", unmapped.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Fstab_Ec2DeviceNames_BecomeUuidsAndPseudoNetworkAndSwapFileEntriesStay()
    {
        var refs = new DiskReferences().Device("/dev/xvda1", NewRoot).Device("/dev/xvdb", NewBoot);

        var result = FstabRewriter.Rewrite(Ec2DeviceFstab, refs);

        Assert.Equal(2, result.Changes.Count);
        Assert.StartsWith($"UUID={NewRoot}  /         ext4", result.Text, StringComparison.Ordinal);
        Assert.Contains($"UUID={NewBoot}   /data", result.Text, StringComparison.Ordinal);
        foreach (var untouched in new[] { "tmpfs       /dev/shm", "devpts      /dev/pts", "sysfs       /sys", "proc        /proc", "/swapfile   swap",
            "nfs1:/export/home /home", "//fileserver/share /mnt/share" })
        {
            Assert.Contains(untouched, result.Text, StringComparison.Ordinal);
        }
        Assert.All(result.Changes, c => Assert.Contains("virtio", c.Reason, StringComparison.Ordinal));
        AssertIdempotent(result.Text, refs, (t, r) => FstabRewriter.Rewrite(t, r));
    }

    [Fact]
    public void Fstab_NvmeDeviceAndByUuidLink_AreBothRewritten()
    {
        var result = FstabRewriter.Rewrite(NvmeFstab, new DiskReferences().Device("/dev/nvme0n1p1", NewRoot).Uuid(BootUuid, NewBoot));

        Assert.Equal($"UUID={NewRoot} / ext4 defaults 0 1\n/dev/disk/by-uuid/{NewBoot} /boot ext4 defaults 0 2\n", result.Text);
    }

    [Fact]
    public void GrubCfg_DebianWithFreshRootUuid_RewritesBothSearchesAndTheKernelRootOnly()
    {
        var refs = new DiskReferences().Uuid(RootUuid, NewRoot);

        var result = KernelReferenceRewriter.Rewrite(DebianGrubCfg, refs, "/boot/grub/grub.cfg");

        Assert.Equal(3, result.Changes.Count);
        Assert.Contains($"--hint-baremetal=ahci0,msdos1  {NewRoot}", result.Text, StringComparison.Ordinal);
        Assert.Contains($"search --no-floppy --fs-uuid --set=root {NewRoot}", result.Text, StringComparison.Ordinal);
        Assert.Contains($"root=UUID={NewRoot} ro  quiet", result.Text, StringComparison.Ordinal);
        Assert.Contains("set root='hd0,msdos1'", result.Text, StringComparison.Ordinal);
        // The menu entry id is a name, not a reference: it keeps the old UUID.
        Assert.Contains($"'gnulinux-simple-{RootUuid}'", result.Text, StringComparison.Ordinal);
        AssertIdempotent(result.Text, refs, (t, r) => KernelReferenceRewriter.Rewrite(t, r, "/boot/grub/grub.cfg"));
    }

    [Fact]
    public void DefaultGrub_DeviceNamesInTheCommandLine_BecomeUuidsInsideTheQuotes()
    {
        var result = KernelReferenceRewriter.Rewrite(Ec2DefaultGrub, new DiskReferences().Device("/dev/xvda1", NewRoot).Device("/dev/xvdb2", NewSwap),
            "/etc/default/grub");

        Assert.Contains($"GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200n8 root=UUID={NewRoot} resume=UUID={NewSwap} net.ifnames=0\"", result.Text,
            StringComparison.Ordinal);
        var change = Assert.Single(result.Changes);
        Assert.Equal(3, change.Line);
    }

    [Fact]
    public void BlsEntry_WithLvmRoot_IsLeftAlone()
    {
        var result = KernelReferenceRewriter.Rewrite(RhelBlsEntry, new DiskReferences().Uuid(BootUuid, NewBoot), "/boot/loader/entries/x.conf");

        Assert.Empty(result.Changes);
        Assert.Equal(RhelBlsEntry, result.Text);
    }

    private static void AssertIdempotent(string text, DiskReferences refs, Func<string, DiskReferences, RewriteResult> rewrite)
    {
        var again = rewrite(text, refs);
        Assert.Empty(again.Changes);
        Assert.Equal(text, again.Text);
    }
}
