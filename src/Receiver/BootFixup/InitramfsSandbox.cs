using Ferry.Receiver.Hosting;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// Runs the target's own initramfs tool (update-initramfs, dracut) inside the target, on the
/// receiver. Those are the source's programs, so they run fenced in: private mount, PID, network,
/// IPC and UTS namespaces (no network; the receiver's processes and mounts invisible), chroot into
/// the target with /boot bound in, a /dev of its own holding only null, zero, full, random and
/// urandom (never the receiver's disks), an empty environment, a capability bounding set without
/// the ones that could leave the chroot or reach the kernel (mount, chroot, module loading, raw
/// I/O, device nodes, ptrace, network and clock administration), and a time limit.
/// </summary>
public static class InitramfsSandbox
{
    private static readonly string[] MountPoints = ["proc", "dev", "tmp"];

    public static readonly TimeSpan TimeLimit = TimeSpan.FromMinutes(10);

    private const string Dropped =
        "cap_sys_admin,cap_sys_chroot,cap_sys_module,cap_sys_rawio,cap_mknod,cap_sys_ptrace,cap_net_admin,cap_net_raw,cap_sys_boot,"
        + "cap_sys_time,cap_setfcap,cap_setpcap,cap_mac_admin,cap_mac_override,cap_syslog,cap_linux_immutable,cap_audit_control,"
        + "cap_bpf,cap_perfmon,cap_checkpoint_restore,cap_block_suspend,cap_wake_alarm,cap_sys_pacct,cap_sys_tty_config,cap_lease";

    // Runs inside the new namespaces; paths and the command come as arguments, never through the shell's parser.
    private const string Setup = """
        set -e
        root=$1; boot=$2; drop=$3; tool=$4; shift 4
        if [ -n "$boot" ]; then mount --bind "$boot" "$root/boot"; fi
        mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
        mount -t tmpfs -o nosuid,noexec,mode=0755,size=1m ferry-dev "$root/dev"
        for n in null:3 zero:5 full:7 random:8 urandom:9; do mknod -m 666 "$root/dev/${n%:*}" c 1 "${n#*:}"; done
        mount -t tmpfs -o nosuid,nodev,mode=1777 ferry-tmp "$root/tmp"
        exec capsh --chroot="$root" --drop="$drop" --shell="$tool" -- "$@"
        """;

    public static async Task RunAsync(string root, string? boot, IReadOnlyList<string> command, CancellationToken ct)
    {
        foreach (var mountPoint in MountPoints.Concat(boot is null ? [] : ["boot"]))
        {
            if (!Directory.Exists(Path.Combine(root, mountPoint)))
            {
                throw new IOException($"the target has no /{mountPoint} directory to run {command[0]} in");
            }
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeLimit);
        try
        {
            await ExternalTool.RunAsync("unshare",
                ["--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child", "--", "/bin/sh", "-c", Setup, "ferry-initramfs", root, boot ?? "", Dropped, .. command],
                limit.Token, environment: new Dictionary<string, string>
                {
                    ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    ["LANG"] = "C",
                });
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new IOException($"{command[0]} did not finish within {TimeLimit.TotalMinutes:0} minutes");
        }
    }
}
