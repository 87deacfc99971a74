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
    public sealed record Result(bool Booted, string Marker, string Serial, TimeSpan Elapsed)
    {
        /// <summary>The serial console's last lines, for a failure message.</summary>
        public string Tail => Serial[^Math.Min(4000, Serial.Length)..];
    }

    public static Result Boot(string image, TempDir dir, TimeSpan timeout) => Run(image, [], Marker(), dir, timeout);

    /// <summary>
    /// Checks a stored image (qemu-img check), boots it by itself and requires the fixture's marker
    /// with verify=ok and /, /boot and /data mounted; returns the boot for its time.
    /// </summary>
    public static Result BootAndVerify(string image, TempDir dir, string what)
    {
        Sh.Run("qemu-img", "check", "-q", image).Check("qemu-img check on the stored image");
        var boot = Boot(image, dir, TimeSpan.FromMinutes(3));
        Xunit.Assert.True(boot.Booted, $"the {what} image did not boot: {boot.Marker}\n---- serial ----\n{boot.Tail}");
        Xunit.Assert.Contains("verify=ok", boot.Marker, StringComparison.Ordinal);
        Xunit.Assert.Contains("/data", boot.Marker, StringComparison.Ordinal);
        Xunit.Assert.Contains("/boot", boot.Marker, StringComparison.Ordinal);
        return boot;
    }

    /// <summary>
    /// Boots the source server with a job disk (an ext4 filesystem labelled ferry-job holding
    /// run.sh) and QEMU user networking, in which the host's loopback is 10.0.2.2; the fixture's
    /// init runs the job and prints FERRY-JOB-DONE rc=N.
    /// </summary>
    public static Result RunJob(string image, string jobDisk, TempDir dir, TimeSpan timeout) => Run(image,
        [
            "-drive", $"file={jobDisk},format=raw,id=job,if=none,cache=unsafe", "-device", "virtio-blk-pci,drive=job",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
        ],
        JobDone(), dir, timeout);

    /// <summary>Builds a job disk from DIRECTORY (which must hold run.sh) without mounting anything.</summary>
    public static string MakeJobDisk(string directory, string path)
    {
        File.Delete(path);
        Sh.Run("truncate", "-s", "128M", path).Check("truncate job disk");
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "ferry-job", "-d", directory, path).Check("mkfs.ext4 job disk");
        return path;
    }

    private static Result Run(string image, string[] extra, Regex done, TempDir dir, TimeSpan timeout)
    {
        Requires.Tool("qemu-system-x86_64");
        var serial = dir["serial-" + Path.GetFileName(image) + (extra.Length > 0 ? "-job" : "") + ".log"];
        File.WriteAllText(serial, "");
        var psi = new ProcessStartInfo("qemu-system-x86_64") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "-machine", "pc,graphics=off", "-m", "1024", "-smp", "2", "-nodefaults", "-no-reboot", "-display", "none", "-vga", "none",
            "-serial", "file:" + serial, "-monitor", "none", "-boot", "c", "-accel", "tcg,thread=multi", "-cpu", "Nehalem",
            "-drive", $"file={image},format={(image.EndsWith(".qcow2", StringComparison.Ordinal) ? "qcow2" : "raw")},snapshot=on,id=d0,if=none,cache=unsafe", "-device", "virtio-blk-pci,drive=d0,bootindex=0",
        }.Concat(extra))
        {
            psi.ArgumentList.Add(a);
        }
        var clock = Stopwatch.StartNew();
        using var qemu = Process.Start(psi)!;
        var stderr = qemu.StandardError.ReadToEndAsync();
        try
        {
            while (clock.Elapsed < timeout)
            {
                var text = File.ReadAllText(serial);
                if (done.Match(text) is { Success: true } ok)
                {
                    return new Result(true, ok.Value, text, clock.Elapsed);
                }
                if (Failure().Match(text) is { Success: true } failed)
                {
                    return new Result(false, failed.Value, text, clock.Elapsed);
                }
                if (qemu.HasExited)
                {
                    return new Result(false, $"QEMU exited ({qemu.ExitCode}) {stderr.GetAwaiter().GetResult()}", text, clock.Elapsed);
                }
                qemu.WaitForExit(200);
            }
            return new Result(false, "timeout", File.ReadAllText(serial), clock.Elapsed);
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

    // Only whole lines: the serial log is read while the guest is still writing it.
    [GeneratedRegex(@"FERRY-BOOT-OK[^\r\n]*(?=[\r\n])")]
    private static partial Regex Marker();

    [GeneratedRegex(@"FERRY-JOB-DONE rc=\d+(?=[\r\n])")]
    private static partial Regex JobDone();

    [GeneratedRegex(@"(FERRY-BOOT-(FAIL|VERIFY-FAIL)|Kernel panic|No bootable device)[^\r\n]*(?=[\r\n])")]
    private static partial Regex Failure();
}
