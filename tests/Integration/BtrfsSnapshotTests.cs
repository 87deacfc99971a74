using Ferry.Snapshot;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>The btrfs provider on a real btrfs filesystem on a loop device: a read-only snapshot that holds the tree as it was, deleted after use or by the next run.</summary>
[Collection("loop devices")]
public sealed class BtrfsSnapshotTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    /// <summary>What rsync may find between the source and the copy of its snapshot: nothing, or the root's time.</summary>
    private static readonly string[] RootTimeOnly = ["", ".d..t...... ./"];

    [Fact]
    public async Task Create_OnAMountedBtrfs_IsReadOnlyAndHoldsTheTreeAsItWas_AndDeleteRemovesIt()
    {
        using var dir = new TempDir();
        using var disk = Btrfs(dir, out var mnt);
        var before = TreeManifest.Of(mnt);
        var state = dir["state"];

        var snapshot = await BtrfsSnapshot.CreateAsync(mnt, state, CancellationToken.None).WaitAsync(Patience);
        File.AppendAllText(Path.Combine(mnt, "d00", "changed-after.txt"), "written after the snapshot");
        File.Delete(Directory.EnumerateFiles(mnt, "*", SearchOption.AllDirectories).First(f => !f.Contains(".ferry-snapshot", StringComparison.Ordinal)));

        Assert.Equal(before, TreeManifest.Of(snapshot.Path));
        Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(snapshot.Path, "x"), "the snapshot is read-only"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(state, "btrfs-snapshots")));
        Assert.Contains(snapshot.Path, File.ReadAllText(Path.Combine(state, "btrfs-snapshots")), StringComparison.Ordinal);

        await snapshot.DeleteAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.False(Directory.Exists(snapshot.Path));
        Assert.Equal("", File.ReadAllText(Path.Combine(state, "btrfs-snapshots")));
    }

    [Fact]
    public async Task CleanUp_AfterARunThatDiedWithASnapshot_DeletesIt()
    {
        using var dir = new TempDir();
        using var disk = Btrfs(dir, out var mnt);
        var state = dir["state"];
        var left = await BtrfsSnapshot.CreateAsync(mnt, state, CancellationToken.None).WaitAsync(Patience);

        // The run dies here; the next one starts with the clean-up.
        var deleted = await BtrfsSnapshot.CleanUpAsync(state, CancellationToken.None).WaitAsync(Patience);

        Assert.Equal([left.Path], deleted);
        Assert.False(Directory.Exists(left.Path));
        Assert.Empty(await BtrfsSnapshot.CleanUpAsync(state, CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public async Task FileMigration_OfAMountedBtrfs_ReadsItsSnapshot_LeavesNoneBehind_AndTheTreeIsEqual()
    {
        Requires.Tool("rsync");
        using var dir = new TempDir();
        using var disk = Btrfs(dir, out var mnt);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        File.WriteAllText(dir["layout.json"], $$"""
            { "disks": [ { "name": "vda", "size": "300MiB", "partition_table": "mbr",
                           "partitions": [ { "mount_point": "{{mnt}}", "size": "0" } ] } ] }
            """);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", "--mode", "file", "--layout", dir["layout.json"], .. receiver.AgentArgs(),
            "--source-name", "btrfs", "--format", "raw", "--verbose"])).WaitAsync(Patience);

        output.WriteLine(run.Stderr);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Matches(@"is mounted read-write: its files are read from \S+/\.ferry-snapshot-\S+, a snapshot taken now", run.Stderr);
        Assert.Empty(Directory.GetDirectories(mnt, ".ferry-snapshot-*"));
        using var image = LoopDisk.Create(Path.Combine(dir["out"], "btrfs", "vda.raw"), 0, readOnly: true);
        var target = image.Mount(1, dir["target"], "ro");
        // The tree is as the snapshot saw it; since then at most the root's time changed (making and deleting the snapshot's entry
        // in it; within rsync's time granularity it does not show).
        Assert.Contains(FileSourceBuilder.Differences(mnt, target).Trim(), RootTimeOnly);
    }

    /// <summary>A 256 MiB btrfs on a loop device, mounted read-write at DIR/mnt, with a few hundred files.</summary>
    private static LoopDisk Btrfs(TempDir dir, out string mountPoint)
    {
        Requires.Tool("mkfs.btrfs");
        var disk = LoopDisk.Create(dir["btrfs.img"], 256L << 20, "label: gpt\nsize=250MiB, type=L\n");
        Sh.Run("mkfs.btrfs", "-q", "-f", disk.Partition(1)).Check("mkfs.btrfs");
        mountPoint = disk.Mount(1, dir["mnt"]);
        SourceDiskBuilder.Populate(mountPoint, 200, seed: 17);
        return disk;
    }
}
