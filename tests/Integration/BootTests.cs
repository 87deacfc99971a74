using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// The proof users care about most: a server migrated block by block boots. A source server disk
/// is built from Debian packages (cloud kernel, busybox, GRUB in the MBR gap or a BIOS-boot
/// partition, ext4 /boot and /, XFS /data, payload manifests), migrated by the native agent into
/// the default qcow2 image, and the image boots by itself in QEMU and verifies every payload file.
/// </summary>
[Collection("loop devices")]
public sealed class BootTests
{
    [Theory]
    [InlineData("dos")]
    [InlineData("gpt")]
    public async Task BlockMigratedImage_BootsByItselfAndVerifiesItsPayload(string label)
    {
        using var dir = new TempDir();
        SourceVm.Build(dir, label);
        using var source = LoopDisk.Create(dir["source.img"], 0, readOnly: true);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "vm", "--checksum"]))
            .WaitAsync(TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, run.Stderr);

        var image = Path.Combine(dir["out"], "vm", Path.GetFileName(source.Device) + ".qcow2");
        // The fixture writes nothing into free space, so skipping it must still give an identical disk.
        Sh.Run("qemu-img", "compare", "-q", "-f", "raw", dir["source.img"], "-F", "qcow2", image).Check("qemu-img compare source and image");
        var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["out"], "vm", "manifest.json"))).RootElement;
        var entry = manifest.GetProperty("disks")[0];
        Assert.Equal("qcow2", entry.GetProperty("format").GetString());
        Assert.Equal(new FileInfo(dir["source.img"]).Length, entry.GetProperty("size_bytes").GetInt64());
        Assert.Equal(Sh.Run("sha256sum", image).Check("sha256sum").Stdout.Split(' ')[0], entry.GetProperty("sha256").GetString());
        Assert.False(File.Exists(Path.ChangeExtension(image, ".raw")), "the raw intermediate was left beside the stored image");

        var boot = QemuBoot.BootAndVerify(image, dir, "block-migrated");
        Console.WriteLine($"block-migrated image booted to its marker in {boot.Elapsed.TotalSeconds:0.0} s");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FileMigratedImage_IntoALayoutWithALargerRoot_BootsByItselfAndVerifiesItsPayload(bool freshUuids)
    {
        using var dir = new TempDir();
        SourceVm.Build(dir, "gpt");
        using var source = LoopDisk.Create(dir["source.img"], 0, readOnly: true);
        // The source server's filesystems as it mounts them: / (partition 3), /boot (2) and /data (4).
        var src = source.Mount(3, dir["src"], "ro");
        source.Mount(2, Path.Combine(src, "boot"), "ro");
        source.Mount(4, Path.Combine(src, "data"), "ro");
        File.WriteAllText(dir["layout.json"], $$"""
            { "boot_mode": "bios", "fresh_uuids": {{(freshUuids ? "true" : "false")}},
              "disks": [ { "name": "vda", "size": "1GiB", "partition_table": "gpt", "partitions": [
                { "mount_point": "/boot", "size": "128MiB" },
                { "mount_point": "/", "size": "256MiB" },
                { "mount_point": "/data", "size": "0" } ] } ] }
            """);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", "--mode", "file", "--layout", dir["layout.json"], "--source-root", src,
            .. receiver.AgentArgs(), "--source-name", "fvm"])).WaitAsync(TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, run.Stderr);
        source.UnmountAll();
        // With fresh UUIDs, fstab, grub.cfg's search and root= and GRUB's core image must all follow the new ones.
        using (var work = LoopDisk.Create(Path.Combine(dir["out"], "fvm", "work", "vda.raw"), 0, readOnly: true))
        {
            Assert.Equal(!freshUuids, Uuid(source.Partition(3)) == Uuid(work.Partition(3)));
            Assert.Equal(!freshUuids, Uuid(source.Partition(2)) == Uuid(work.Partition(2)));
        }

        var boot = QemuBoot.BootAndVerify(Path.Combine(dir["out"], "fvm", "vda.qcow2"), dir, "file-migrated");
        Console.WriteLine($"file-migrated image (fresh UUIDs: {freshUuids}) booted to its marker in {boot.Elapsed.TotalSeconds:0.0} s");
    }

    private static string Uuid(string device) => Sh.Run("blkid", "-p", "-s", "UUID", "-o", "value", device).Check("blkid").Stdout.Trim();
}
