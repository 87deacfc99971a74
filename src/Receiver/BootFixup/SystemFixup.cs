using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// What a migrated system needs to boot on its new machine, planned by reading its mounted
/// filesystems and applied only if something needs changing (so that a system that is right is
/// not touched, and running it twice changes nothing the second time): disk references in fstab,
/// GRUB's configuration and BLS entries resolve on the new disks; SELinux enforcement is off;
/// interface names bound to the source's MAC addresses are unbound; the initramfs carries the
/// virtio drivers, rebuilt with the target's own tool in a sandbox (<see cref="InitramfsSandbox"/>).
/// </summary>
public sealed class SystemFixup
{
    private static readonly string[] DracutPaths = ["/usr/bin/dracut", "/usr/sbin/dracut"];
    private static readonly string[] GrubConfigs = ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub2/grubenv"];

    private readonly TargetRoot _root;
    private readonly TargetRoot? _boot;
    private readonly List<(TargetRoot Where, string Path, string Text, bool Create, IReadOnlyList<ConfigChange> Changes)> _edits = [];
    private string[]? _initramfs;

    private SystemFixup(TargetRoot root, TargetRoot? boot)
    {
        _root = root;
        _boot = boot;
    }

    /// <summary>Whether applying would change anything.</summary>
    public bool HasWork => _edits.Count > 0 || _initramfs is not null;

    /// <summary>Every line the fix-up changes, for the log.</summary>
    public IEnumerable<ConfigChange> Changes => _edits.SelectMany(e => e.Changes);

    /// <summary>The command that rebuilds the initramfs inside the target, when the fix-up rebuilds it.</summary>
    public IReadOnlyList<string>? InitramfsCommand => _initramfs;

    /// <summary>
    /// Reads the target (<paramref name="root"/>, with <paramref name="boot"/> when /boot is a
    /// filesystem of its own) and plans the changes; nothing is written.
    /// </summary>
    public static SystemFixup Plan(TargetRoot root, TargetRoot? boot, DiskReferences references)
    {
        var fixup = new SystemFixup(root, boot);
        fixup.Rewrite("/etc/fstab", t => FstabRewriter.Rewrite(t, references));
        fixup.Rewrite("/etc/default/grub", t => KernelReferenceRewriter.Rewrite(t, references, "/etc/default/grub"));
        foreach (var config in GrubConfigs)
        {
            fixup.Rewrite(config, t => KernelReferenceRewriter.Rewrite(t, references, config));
        }
        foreach (var entry in fixup.List("/boot/loader/entries").Where(n => n.EndsWith(".conf", StringComparison.Ordinal)))
        {
            var path = "/boot/loader/entries/" + entry;
            fixup.Rewrite(path, t => KernelReferenceRewriter.Rewrite(t, references, path));
        }
        fixup.Rewrite("/etc/selinux/config", t => SystemSettingsRewriter.Selinux(t));
        foreach (var rules in fixup.List("/etc/udev/rules.d").Where(n => n.Contains("persistent-net", StringComparison.Ordinal) && n.EndsWith(".rules", StringComparison.Ordinal)))
        {
            var path = "/etc/udev/rules.d/" + rules;
            fixup.Rewrite(path, t => SystemSettingsRewriter.NicRules(t, path));
        }
        foreach (var ifcfg in fixup.List("/etc/sysconfig/network-scripts").Where(n => n.StartsWith("ifcfg-", StringComparison.Ordinal)))
        {
            var path = "/etc/sysconfig/network-scripts/" + ifcfg;
            fixup.Rewrite(path, t => SystemSettingsRewriter.IfcfgHwaddr(t, path));
        }
        fixup.PlanInitramfs();
        return fixup;
    }

    /// <summary>Whether applying changes anything in the target filesystems.</summary>
    public bool ChangesFiles => _edits.Count > 0 || _initramfs is not null;

    /// <summary>Writes the planned changes (the filesystems must be mounted read-write), logging each with its file and reason.</summary>
    public async Task ApplyAsync(ILogger log, CancellationToken ct)
    {
        foreach (var (where, path, text, create, changes) in _edits)
        {
            where.WriteText(path, text, create);
            foreach (var change in changes)
            {
                log.LogInformation("Boot fix-up: {File} line {Line}: '{Before}' -> '{After}' ({Reason})", change.File, change.Line, change.Before, change.After, change.Reason);
            }
        }
        if (_initramfs is not null)
        {
            log.LogInformation("Boot fix-up: rebuilding the initramfs with the target's {Tool} so that it carries the virtio drivers", _initramfs[0]);
            await InitramfsSandbox.RunAsync(_root.MountPath, _boot?.MountPath, _initramfs, ct);
            log.LogInformation("Boot fix-up: initramfs rebuilt");
        }
    }

    private void PlanInitramfs()
    {
        if (_root.IsFile("/usr/sbin/update-initramfs"))
        {
            if (Rewrite("/etc/initramfs-tools/modules", t => SystemSettingsRewriter.InitramfsModules(t), create: true))
            {
                _initramfs = ["/usr/sbin/update-initramfs", "-u", "-k", "all"];
            }
            return;
        }
        if (DracutPaths.FirstOrDefault(_root.IsFile) is { } dracut)
        {
            const string path = "/etc/dracut.conf.d/90-ferry-virtio.conf";
            if (_root.ReadText(path) != SystemSettingsRewriter.DracutConfig)
            {
                _edits.Add((_root, path, SystemSettingsRewriter.DracutConfig, true,
                    [new ConfigChange(path, 1, "", "add_drivers+=\" " + string.Join(' ', SystemSettingsRewriter.VirtioDrivers) + " \"",
                        "the new machine's disks and NICs are virtio; the initramfs must carry their drivers to find the root filesystem")]));
                // Generic, not host-only: inside the sandbox dracut would otherwise size the image for the receiver's hardware.
                _initramfs = [dracut, "--force", "--regenerate-all", "--no-hostonly"];
            }
        }
    }

    /// <summary>Plans a rewrite of <paramref name="path"/> if it exists (or, with <paramref name="create"/>, as an empty file); true if it changes.</summary>
    private bool Rewrite(string path, Func<string, RewriteResult> rewrite, bool create = false)
    {
        var (where, inside) = Resolve(path);
        var text = where.ReadText(inside);
        if (text is null && !create)
        {
            return false;
        }
        var result = rewrite(text ?? "");
        if (result.Changes.Count == 0)
        {
            return false;
        }
        _edits.Add((where, inside, result.Text, text is null, result.Changes));
        return true;
    }

    private IReadOnlyList<string> List(string directory)
    {
        var (where, inside) = Resolve(directory);
        return where.List(inside);
    }

    /// <summary>Paths under /boot live on the /boot filesystem when it is one of its own.</summary>
    private (TargetRoot Where, string Path) Resolve(string path) =>
        _boot is not null && path.StartsWith("/boot/", StringComparison.Ordinal) ? (_boot, path["/boot".Length..]) : (_root, path);
}
