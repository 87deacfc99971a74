namespace Ferry.Tests.Integration;

/// <summary>
/// The source server of the boot tests: tests/Fixtures/make-source-vm.sh with a separate ext4
/// /boot (partition 2 on GPT), an ext4 / (3) and an XFS /data (4), built from Debian packages.
/// </summary>
internal static class SourceVm
{
    public static void Build(TempDir dir, string label)
    {
        foreach (var tool in new[] { "grub-mkimage", "cpio", "modprobe", "apt-get", "dpkg-deb" })
        {
            Requires.Tool(tool);
        }
        var fixture = Path.Combine(AgentBinary.RepoRoot(), "tests", "Fixtures", "make-source-vm.sh");
        Sh.Run("/bin/bash", [fixture, dir["source.img"]], null, TimeSpan.FromMinutes(10),
            new Dictionary<string, string> { ["LABEL"] = label, ["DATA"] = "part" }).Check("make-source-vm.sh");
    }
}
