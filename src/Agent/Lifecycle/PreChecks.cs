using Ferry.Disks.Interop;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// What the agent checks before it registers: root, the kernel, free space for its own files,
/// SELinux, the control plane's reachability and identity, and clock skew. Each line says what is
/// wrong and how to fix it; a failure stops before anything is changed.
/// </summary>
public static class PreChecks
{
    private const long MinFreeBytes = 64L << 20;

    public static async Task<ServerInfo> RunAsync(string server, AgentHome home, TextWriter output, CancellationToken ct)
    {
        Check(output, Posix.IsRoot, "running as root", ErrorCode.NotRoot, "the agent must run as root", "Run it with sudo: sudo ./agent");
        var kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : null;
        Check(output, kernel is not null, $"Linux kernel {kernel}", ErrorCode.Internal, "cannot read the kernel version from /proc", "Mount /proc.");
        var free = FilesystemSpace.FreeBytesAt(home.Directory);
        Check(output, free >= MinFreeBytes, $"{free >> 20} MiB free in {home.Directory}", ErrorCode.Usage,
            $"only {free >> 20} MiB free in {home.Directory}", $"Free at least {MinFreeBytes >> 20} MiB there for logs and state.");
        if (File.Exists("/sys/fs/selinux/enforce") && File.ReadAllText("/sys/fs/selinux/enforce").Trim() == "1")
        {
            output.WriteLine("[WARN] SELinux is enforcing: the migrated server will need a relabel on first boot (Ferry's boot fix-up arranges it).");
        }

        var (info, serverTime) = await ControlClient.DiscoverAsync(server, ct);
        output.WriteLine($"[ OK ] control plane {server} (Ferry {info.Version}) reachable");
        if (serverTime is { } time)
        {
            var skew = DateTimeOffset.UtcNow - time;
            if (skew.Duration() > RequestSignature.MaxSkew)
            {
                throw new FerryException(ErrorCode.ClockSkew,
                    $"this server's clock is {Math.Abs(skew.TotalMinutes):0} minutes {(skew > TimeSpan.Zero ? "ahead of" : "behind")} the control plane's",
                    "Set the clock right (chrony or systemd-timesyncd), then run the agent again.");
            }
            output.WriteLine($"[ OK ] clock within {Math.Ceiling(skew.Duration().TotalSeconds):0} s of the control plane");
        }
        return info;
    }

    private static void Check(TextWriter output, bool ok, string okText, ErrorCode code, string failure, string hint)
    {
        if (!ok)
        {
            throw new FerryException(code, failure, hint);
        }
        output.WriteLine("[ OK ] " + okText);
    }
}
