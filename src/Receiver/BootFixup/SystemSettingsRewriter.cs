using System.Text.RegularExpressions;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// The settings of a target system that tie it to the source machine, rewritten line by line with
/// every other byte kept: SELinux enforcement, network interface names bound to the source's MAC
/// addresses, and the drivers the initramfs must carry for virtio disks. Each is idempotent: a
/// rewritten file rewrites to itself with no changes.
/// </summary>
public static partial class SystemSettingsRewriter
{
    /// <summary>The drivers a virtio machine boots from (disk, SCSI, PCI transport) and reaches the network with.</summary>
    public static readonly IReadOnlyList<string> VirtioDrivers = ["virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net"];

    private const string Disabled = "# disabled by Ferry: ";

    /// <summary>/etc/selinux/config: SELINUX=enforcing becomes permissive.</summary>
    public static RewriteResult Selinux(string text, string file = "/etc/selinux/config") => Lines(text, file, line =>
        SelinuxEnforcing().IsMatch(line)
            ? (SelinuxEnforcing().Replace(line, "${head}permissive"),
                "SELinux was enforcing on the source; a migrated system can carry labels its new machine's policy refuses at boot, so it starts permissive (relabel, then turn enforcing back on)")
            : null);

    /// <summary>udev persistent-net rules: a rule that names an interface after a MAC address is commented out.</summary>
    public static RewriteResult NicRules(string text, string file) => Lines(text, file, line =>
        !line.TrimStart().StartsWith('#') && UdevAddress().IsMatch(line) && line.Contains("NAME", StringComparison.Ordinal)
            ? (Disabled + line, "the rule binds an interface name to the source's MAC address; the new machine's NICs have other addresses")
            : null);

    /// <summary>RHEL-family ifcfg files: HWADDR= binds the configuration to the source's NIC and is commented out.</summary>
    public static RewriteResult IfcfgHwaddr(string text, string file) => Lines(text, file, line =>
        Hwaddr().IsMatch(line)
            ? (Disabled + line, "HWADDR binds this configuration to the source's NIC; the new machine's NIC has another address")
            : null);

    /// <summary>/etc/initramfs-tools/modules: the virtio drivers not yet listed are appended, one per line.</summary>
    public static RewriteResult InitramfsModules(string text, string file = "/etc/initramfs-tools/modules")
    {
        var listed = text.Split('\n').Select(l => l.Trim().Split(' ', '\t')[0]).ToHashSet(StringComparer.Ordinal);
        var missing = VirtioDrivers.Where(d => !listed.Contains(d)).ToList();
        if (missing.Count == 0)
        {
            return new RewriteResult(text, []);
        }
        var lines = text.Length == 0 ? 0 : text.TrimEnd('\n').Split('\n').Length;
        var head = text.Length == 0 || text.EndsWith('\n') ? text : text + "\n";
        var changes = missing.Select((d, i) => new ConfigChange(file, lines + i + 1, "", d,
            "the new machine's disks and NICs are virtio; the initramfs must carry their drivers to find the root filesystem")).ToList();
        return new RewriteResult(head + string.Join("", missing.Select(d => d + "\n")), changes);
    }

    /// <summary>A dracut configuration file that adds the virtio drivers.</summary>
    public static string DracutConfig => $"# written by Ferry: the new machine's disks and NICs are virtio\nadd_drivers+=\" {string.Join(' ', VirtioDrivers)} \"\n";

    private static RewriteResult Lines(string text, string file, Func<string, (string After, string Reason)?> rewrite)
    {
        var changes = new List<ConfigChange>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (rewrite(lines[i]) is { } fix)
            {
                changes.Add(new ConfigChange(file, i + 1, lines[i], fix.After, fix.Reason));
                lines[i] = fix.After;
            }
        }
        return new RewriteResult(string.Join('\n', lines), changes);
    }

    [GeneratedRegex(@"^(?<head>\s*SELINUX\s*=\s*)enforcing\s*$")]
    private static partial Regex SelinuxEnforcing();

    [GeneratedRegex(@"ATTR\{address\}\s*==")]
    private static partial Regex UdevAddress();

    [GeneratedRegex(@"^\s*HWADDR\s*=")]
    private static partial Regex Hwaddr();
}
