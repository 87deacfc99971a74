using Ferry.Receiver.BootFixup;
using Xunit;
using static Ferry.Tests.Unit.BootFixup.RecordedSystemSettings;

namespace Ferry.Tests.Unit.BootFixup;

/// <summary>
/// The settings that tie a system to its old machine, on recorded real files: each rewrite says
/// why, keeps every other byte, leaves what must stay, and a second pass changes nothing.
/// </summary>
public sealed class SystemSettingsRewriteTests
{
    [Fact]
    public void Selinux_Enforcing_BecomesPermissive_AndTheCommentsStay()
    {
        var result = SystemSettingsRewriter.Selinux(RhelSelinuxConfig);

        var change = Assert.Single(result.Changes);
        Assert.Equal(7, change.Line);
        Assert.Equal("SELINUX=permissive", change.After);
        Assert.Equal(RhelSelinuxConfig.Replace("SELINUX=enforcing", "SELINUX=permissive", StringComparison.Ordinal), result.Text);
        Assert.Contains("enforcing - SELinux security policy is enforced.", result.Text, StringComparison.Ordinal);
        Assert.Empty(SystemSettingsRewriter.Selinux(result.Text).Changes);
    }

    [Theory]
    [InlineData("SELINUX=permissive\n")]
    [InlineData("SELINUX=disabled\n")]
    [InlineData("# SELINUX=enforcing\n")]
    public void Selinux_NotEnforcing_IsLeftAlone(string text) => Assert.Empty(SystemSettingsRewriter.Selinux(text).Changes);

    [Fact]
    public void NicRules_EveryRuleBoundToAMacAddress_IsCommentedOut()
    {
        var result = SystemSettingsRewriter.NicRules(CentOs6PersistentNet, "/etc/udev/rules.d/70-persistent-net.rules");

        Assert.Equal([8, 11], result.Changes.Select(c => c.Line));
        Assert.All(result.Changes, c => Assert.StartsWith("# disabled by Ferry: SUBSYSTEM==", c.After, StringComparison.Ordinal));
        Assert.All(result.Changes, c => Assert.Contains("MAC address", c.Reason, StringComparison.Ordinal));
        Assert.Equal(CentOs6PersistentNet.Split('\n').Length, result.Text.Split('\n').Length);
        Assert.Empty(SystemSettingsRewriter.NicRules(result.Text, "x").Changes);
    }

    [Fact]
    public void NicRules_ARuleThatDoesNotNameAnInterface_IsLeftAlone()
    {
        const string rule = "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", RUN+=\"/usr/local/bin/notify\"\n";
        Assert.Empty(SystemSettingsRewriter.NicRules(rule, "x").Changes);
    }

    [Fact]
    public void Ifcfg_Hwaddr_IsCommentedOut_AndTheRestStays()
    {
        var result = SystemSettingsRewriter.IfcfgHwaddr(RhelIfcfgEth0, "/etc/sysconfig/network-scripts/ifcfg-eth0");

        var change = Assert.Single(result.Changes);
        Assert.Equal(6, change.Line);
        Assert.Equal(RhelIfcfgEth0.Replace("HWADDR=", "# disabled by Ferry: HWADDR=", StringComparison.Ordinal), result.Text);
        Assert.Empty(SystemSettingsRewriter.IfcfgHwaddr(result.Text, "x").Changes);
    }

    [Fact]
    public void InitramfsModules_TheMissingVirtioDriversAreAppended_Once()
    {
        var result = SystemSettingsRewriter.InitramfsModules(DebianInitramfsModules);

        Assert.Equal(DebianInitramfsModules + "\nvirtio_pci\nvirtio_blk\nvirtio_scsi\nvirtio_net\n", result.Text);
        Assert.Equal(Enumerable.Range(12, 4), result.Changes.Select(c => c.Line));
        Assert.Empty(SystemSettingsRewriter.InitramfsModules(result.Text).Changes);
    }

    [Fact]
    public void InitramfsModules_SomeAlreadyListed_OnlyTheOthersAreAdded()
    {
        var result = SystemSettingsRewriter.InitramfsModules("virtio_blk\nvirtio_pci debug=1\n");

        Assert.Equal("virtio_blk\nvirtio_pci debug=1\nvirtio_scsi\nvirtio_net\n", result.Text);
        Assert.Equal(2, result.Changes.Count);
    }

    [Theory]
    [InlineData("sda", 1, "sda1")]
    [InlineData("xvda", 2, "xvda2")]
    [InlineData("nvme0n1", 1, "nvme0n1p1")]
    [InlineData("mmcblk0", 3, "mmcblk0p3")]
    [InlineData("loop7", 2, "loop7p2")]
    public void PartitionName_FollowsTheKernelsNaming(string disk, int number, string expected) =>
        Assert.Equal(expected, BlockTargetBoot.PartitionName(disk, number));
}
