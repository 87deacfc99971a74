using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>
/// The migration as users run it: the published native agent runs on the live source server (a
/// QEMU guest booted from the source fixture) and reaches a receiver on the host's loopback through
/// QEMU user networking; the image it produces then boots by itself and verifies its payload.
/// </summary>
[Collection("loop devices")]
public sealed class AgentInGuestTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The source server's console during the last migration.</summary>
    private string _serial = "";

    [Fact]
    public async Task BlockMode_TheAgentInsideTheSourceServer_ProducesAnImageThatBoots()
    {
        // The server keeps running with /, /boot and /data mounted read-write: the agent copies them
        // live, converges and freezes them for the last pass.
        var image = await MigrateFromInsideAsync("""
            exec /run/job/agent migrate {receiver} --disk /dev/vda --source-name guest --checksum
            """, layout: null);
        var frozen = System.Text.RegularExpressions.Regex.Match(_serial, @"Filesystems frozen for the last pass: \d+\.\d+ s \(bound 30 s\)");
        Assert.True(frozen.Success, "the agent did not freeze the live filesystems:\n" + _serial);
        output.WriteLine(frozen.Value);
        AssertNamedByUuid(Path.Combine(_dir["out"], "guest", "vda.qcow2"), bootPartition: 2, rootPartition: 3);
        BootAndVerify(image, "block");
    }

    [Fact]
    public async Task FileMode_TheAgentInsideTheSourceServer_IntoALargerRoot_ProducesAnImageThatBoots()
    {
        // The source's / is 160 MiB; the new layout gives it 256 MiB and /data the rest of 1 GiB.
        var image = await MigrateFromInsideAsync("""
            exec /run/job/agent migrate --mode file --layout /run/job/layout.json --source-root / {receiver} --source-name guest
            """, layout: """
            { "boot_mode": "bios",
              "disks": [ { "name": "vda", "size": "1GiB", "partition_table": "gpt", "partitions": [
                { "mount_point": "/boot", "size": "128MiB" },
                { "mount_point": "/", "size": "256MiB" },
                { "mount_point": "/data", "size": "0" } ] } ] }
            """);
        using (var work = LoopDisk.Create(Path.Combine(_dir["out"], "guest", "work", "vda.raw"), 0, readOnly: true))
        {
            var rootBytes = long.Parse(Sh.Run("blockdev", "--getsize64", work.Partition(3)).Check("blockdev").Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(256L << 20, rootBytes);
        }
        AssertNamedByUuid(Path.Combine(_dir["out"], "guest", "work", "vda.raw"), bootPartition: 2, rootPartition: 3);
        BootAndVerify(image, "file");
    }

    private async Task<string> MigrateFromInsideAsync(string script, string? layout)
    {
        // fstab and the kernel command line name the source's filesystems by device (/dev/vda3): the
        // boot fix-up must make them UUIDs, because the new machine's disks may be named otherwise.
        SourceVm.Build(_dir, "gpt", fstab: "device");
        await using var receiver = await ReceiverFixture.StartAsync(_dir["out"]);
        var job = _dir["job"];
        Directory.CreateDirectory(job);
        File.Copy(AgentBinary.Path, Path.Combine(job, "agent"));
        File.WriteAllText(Path.Combine(job, "run.sh"), script.Replace("{receiver}", string.Join(' ', receiver.AgentArgs(host: "10.0.2.2")), StringComparison.Ordinal) + "\n");
        if (layout is not null)
        {
            File.WriteAllText(Path.Combine(job, "layout.json"), layout);
        }
        var run = await Task.Run(() => QemuBoot.RunJob(_dir["source.img"], QemuBoot.MakeJobDisk(job, _dir["job.img"]), _dir, TimeSpan.FromMinutes(15)));
        Assert.True(run.Booted && run.Marker.EndsWith("rc=0", StringComparison.Ordinal), $"the agent inside the source server failed: {run.Marker}\n---- serial ----\n{run.Tail}");
        var sent = run.Serial.Split('\n').FirstOrDefault(l => l.StartsWith("Sent ", StringComparison.Ordinal) && l.Contains("on the wire", StringComparison.Ordinal));
        Assert.True(sent is not null, $"the agent's summary is missing from the console:\n{run.Tail}");
        output.WriteLine($"source server booted and migrated itself in {run.Elapsed.TotalSeconds:0.0} s; the agent: {sent.Trim()}");
        _serial = run.Serial;
        return Path.Combine(_dir["out"], "guest", "vda.qcow2");
    }

    /// <summary>The image's fstab and grub.cfg name every filesystem by UUID, not by the source's device names.</summary>
    private void AssertNamedByUuid(string image, int bootPartition, int rootPartition)
    {
        var raw = image;
        if (image.EndsWith(".qcow2", StringComparison.Ordinal))
        {
            raw = _dir["check.raw"];
            Sh.Run("qemu-img", "convert", "-O", "raw", image, raw).Check("qemu-img convert");
        }
        using var disk = LoopDisk.Create(raw, 0, readOnly: true);
        var root = disk.Mount(rootPartition, _dir["check-root"], "ro,noload");
        var boot = disk.Mount(bootPartition, _dir["check-boot"], "ro,noload");
        var fstab = File.ReadAllText(Path.Combine(root, "etc", "fstab"));
        var grub = File.ReadAllText(Path.Combine(boot, "grub", "grub.cfg"));
        disk.UnmountAll();
        Assert.DoesNotContain("/dev/vda", fstab, StringComparison.Ordinal);
        Assert.Equal(3, fstab.Split('\n').Count(l => l.StartsWith("UUID=", StringComparison.Ordinal)));
        Assert.Contains("root=UUID=", grub, StringComparison.Ordinal);
        output.WriteLine("fstab on the image:\n" + fstab);
    }

    private void BootAndVerify(string image, string mode)
    {
        var boot = QemuBoot.BootAndVerify(image, _dir, mode + "-migrated");
        output.WriteLine($"{mode}-migrated image booted to its marker in {boot.Elapsed.TotalSeconds:0.0} s");
        Console.WriteLine($"{mode}-migrated image (agent inside the source server) booted to its marker in {boot.Elapsed.TotalSeconds:0.0} s");
    }
}
