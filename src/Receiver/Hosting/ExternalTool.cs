using Ferry.Disks.Interop;

namespace Ferry.Receiver.Hosting;

/// <summary>
/// Runs the system tools the receiver builds disks and images with (sfdisk, mkfs.*, losetup, mount,
/// qemu-img). Arguments go as a list, never through a shell; a failure becomes an IOException
/// carrying the tool's own message and the Debian package that provides it when it is missing.
/// </summary>
public static class ExternalTool
{
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["qemu-img"] = "qemu-utils",
        ["sfdisk"] = "fdisk",
        ["mkfs.ext4"] = "e2fsprogs",
        ["mkfs.xfs"] = "xfsprogs",
        ["mkfs.vfat"] = "dosfstools",
        ["mkswap"] = "util-linux",
        ["losetup"] = "mount",
        ["mount"] = "mount",
        ["umount"] = "mount",
        ["partx"] = "util-linux",
        ["blkid"] = "util-linux",
        ["grub-mkimage"] = "grub-common and grub-pc-bin",
        ["unshare"] = "util-linux",
        ["capsh"] = "libcap2-bin",
    };

    /// <summary>
    /// Runs <paramref name="tool"/> and returns its output; cancelling kills it (and its children).
    /// With <paramref name="environment"/>, that is the tool's whole environment instead of the receiver's.
    /// </summary>
    public static async Task<string> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken ct, string? input = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        ChildResult result;
        try
        {
            result = await ChildProcess.RunAsync(tool, args, ct, input, environment);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"{tool} is not installed on the receiver (Debian package {Packages.GetValueOrDefault(tool, tool)})", e);
        }
        return result.ExitCode == 0 ? result.Stdout
            : throw new IOException($"{tool} {(args.Count > 0 ? args[0] : "")} failed ({result.ExitCode}): {result.Stderr.Trim()}");
    }

    public static Task<string> RunAsync(string tool, CancellationToken ct, params string[] args) => RunAsync(tool, args, ct);
}
