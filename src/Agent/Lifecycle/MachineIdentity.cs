using System.Security.Cryptography;
using System.Text;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// Who this source is, stably: the machine-id and the serial numbers of its disks, hashed. A
/// reboot or a new NIC changes neither, so running the agent again re-imports the same source.
/// </summary>
public static class MachineIdentity
{
    private static readonly string[] MachineIdFiles = ["/etc/machine-id", "/var/lib/dbus/machine-id"];
    private static readonly string[] SerialFiles = ["device/serial", "device/wwid", "serial", "wwid"];

    public static string Compute()
    {
        var machineId = MachineIdFiles.Where(File.Exists).Select(p => File.ReadAllText(p).Trim()).FirstOrDefault(id => id.Length > 0)
            ?? throw new Transfer.Errors.FerryException(Transfer.Errors.ErrorCode.Internal, "this system has no machine-id",
                "Create one with `systemd-machine-id-setup` (or `dbus-uuidgen --ensure`), then run the agent again.");
        IEnumerable<string> serials = Directory.Exists("/sys/class/block")
            ? Directory.EnumerateDirectories("/sys/class/block")
                .SelectMany(d => SerialFiles.Select(f => Path.Combine(d, f)))
                .Where(File.Exists)
                .Select(f => File.ReadAllText(f).Trim())
                .Where(s => s.Length > 0)
                .Distinct()
                .Order(StringComparer.Ordinal)
            : [];
        var text = "ferry-source-v1\n" + machineId + "\n" + string.Join('\n', serials);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
