using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Ferry.Tests.Integration;

/// <summary>
/// Boots a disk image in QEMU (TCG: this machine's /dev/kvm cannot run ordinary guests) from its
/// own boot code, never modifying it (snapshot=on), and waits for the fixture's marker line on the
/// serial console.
/// </summary>
internal static partial class QemuBoot
{
    public sealed record Result(bool Booted, string Marker, string Serial);

    public static Result Boot(string image, TempDir dir, TimeSpan timeout)
    {
        Requires.Tool("qemu-system-x86_64");
        var serial = dir["serial-" + Path.GetFileName(image) + ".log"];
        File.WriteAllText(serial, "");
        var psi = new ProcessStartInfo("qemu-system-x86_64") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "-machine", "pc,graphics=off", "-m", "512", "-smp", "2", "-nodefaults", "-no-reboot", "-display", "none", "-vga", "none",
            "-serial", "file:" + serial, "-monitor", "none", "-boot", "c", "-accel", "tcg,thread=multi", "-cpu", "Nehalem",
            "-drive", $"file={image},format={(image.EndsWith(".qcow2", StringComparison.Ordinal) ? "qcow2" : "raw")},snapshot=on,id=d0,if=none,cache=unsafe", "-device", "virtio-blk-pci,drive=d0,bootindex=0",
        })
        {
            psi.ArgumentList.Add(a);
        }
        using var qemu = Process.Start(psi)!;
        var stderr = qemu.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                var text = File.ReadAllText(serial);
                if (Marker().Match(text) is { Success: true } ok)
                {
                    return new Result(true, ok.Value, text);
                }
                if (Failure().Match(text) is { Success: true } failed)
                {
                    return new Result(false, failed.Value, text);
                }
                if (qemu.HasExited)
                {
                    return new Result(false, $"QEMU exited ({qemu.ExitCode}) {stderr.GetAwaiter().GetResult()}", text);
                }
                qemu.WaitForExit(200);
            }
            return new Result(false, "timeout", File.ReadAllText(serial));
        }
        finally
        {
            if (!qemu.HasExited)
            {
                qemu.Kill();
                qemu.WaitForExit(10_000);
            }
        }
    }

    [GeneratedRegex(@"FERRY-BOOT-OK[^\r\n]*")]
    private static partial Regex Marker();

    [GeneratedRegex(@"(FERRY-BOOT-(FAIL|VERIFY-FAIL)|Kernel panic|No bootable device)[^\r\n]*")]
    private static partial Regex Failure();
}
