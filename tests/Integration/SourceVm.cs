namespace Ferry.Tests.Integration;

/// <summary>
/// The source server of the boot tests: tests/Fixtures/make-source-vm.sh with a separate ext4
/// /boot (partition 2 on GPT), an ext4 / (3) and an XFS /data (4), built from Debian packages.
/// </summary>
internal static class SourceVm
{
    /// <param name="fstab">uuid, or device: fstab and root= name the filesystems /dev/vdaN, as older installs do.</param>
    public static void Build(TempDir dir, string label, string fstab = "uuid")
    {
        foreach (var tool in new[] { "grub-mkimage", "cpio", "modprobe", "apt-get", "dpkg-deb" })
        {
            Requires.Tool(tool);
        }
        var fixture = Path.Combine(AgentBinary.RepoRoot(), "tests", "Fixtures", "make-source-vm.sh");
        Sh.Run("/bin/bash", [fixture, dir["source.img"]], null, TimeSpan.FromMinutes(10),
            new Dictionary<string, string> { ["LABEL"] = label, ["DATA"] = "part", ["FSTAB"] = fstab }).Check("make-source-vm.sh");
    }
}
