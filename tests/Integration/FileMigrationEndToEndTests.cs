using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>
/// The published native agent replicates a source's mounted filesystems file by file into a new
/// layout (a smaller root, a larger /data), and rsync itself finds no difference afterwards.
/// </summary>
[Collection("loop devices")]
public sealed class FileMigrationEndToEndTests(ITestOutputHelper output)
{
    private const long TargetRoot = 600L << 20;
    private const long TargetData = 1200L << 20;

    private const string Layout = """
        {
          // A smaller root and a larger /data than the source has.
          "disks": [
            { "name": "vda", "size": "2GiB", "partition_table": "gpt",
              "partitions": [
                { "mount_point": "/", "size": "600MiB" },
                { "mount_point": "/data", "size": "1200MiB" },
                { "filesystem": "swap", "size": "64MiB" },
              ] }
          ]
        }
        """;

    [Fact]
    public async Task Migrate_IntoSmallerRootAndLargerData_RsyncFindsNoDifferenceAndFsckIsClean()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var summary = Migrate(dir, receiver, src);
        Assert.True(summary.GetProperty("whole_files").GetInt64() > 3300, summary.ToString());
        Assert.Equal(0, summary.GetProperty("delta_files").GetInt64());

        var image = Path.Combine(dir["out"], "fm", "vda.raw");
        using var target = LoopDisk.Create(image, 0, readOnly: true);
        // GPT on a BIOS source: BIOS-boot first, then /, /data and swap with the layout's sizes.
        var table = Sh.Run("sfdisk", "--json", target.Device).Check("sfdisk --json").Stdout;
        var parts = JsonDocument.Parse(table).RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(4, parts.Count);
        Assert.Equal("21686148-6449-6E6F-744E-656564454649", parts[0].GetProperty("type").GetString());
        Assert.Equal(TargetRoot / 512, parts[1].GetProperty("size").GetInt64());
        Assert.Equal(TargetData / 512, parts[2].GetProperty("size").GetInt64());
        Assert.True(TargetRoot < FileSourceBuilder.RootBytes && TargetData > FileSourceBuilder.DataBytes);
        // The new filesystems keep the source's UUIDs and labels.
        Assert.Equal(Blkid(source.Partition(1)), Blkid(target.Partition(2)));
        Assert.Equal(Blkid(source.Partition(2)), Blkid(target.Partition(3)));
        Assert.Contains("TYPE=\"swap\"", Sh.Run("blkid", "-p", target.Partition(4)).Stdout, StringComparison.Ordinal);
        Sh.Run("e2fsck", "-fn", target.Partition(2)).Check("e2fsck -fn on the new root");
        // The new root has the source's ext4 features, not this mke2fs's defaults, so the source's kernel mounts it.
        Assert.Equal(ExtFeatures(source.Partition(1)), ExtFeatures(target.Partition(2)));
        Assert.DoesNotContain("metadata_csum", ExtFeatures(target.Partition(2)), StringComparison.Ordinal);
        Assert.Equal(XfsVersion(source.Partition(2)), XfsVersion(target.Partition(3)));
        Assert.DoesNotContain("REFLINK", XfsVersion(target.Partition(3)), StringComparison.Ordinal);
        Sh.Run("xfs_repair", "-n", target.Partition(3)).Check("xfs_repair -n on the new /data");

        var tgt = MountTarget(target, dir["tgt"]);
        Assert.Equal("", FileSourceBuilder.Differences(src, tgt));
        // The excluded content stayed behind; the directories holding it did not.
        Assert.True(Directory.Exists(Path.Combine(tgt, "proc")) && Directory.Exists(Path.Combine(tgt, "mnt")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(tgt, "proc")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(tgt, "mnt")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(tgt, "lost+found")));
        // Holes stay holes: 256 MiB apparent, a few KiB allocated.
        var allocated = long.Parse(Sh.Run("stat", "-c", "%b", Path.Combine(tgt, "data", "sparse.img")).Check("stat").Stdout.Trim(),
            System.Globalization.CultureInfo.InvariantCulture) * 512;
        Assert.True(allocated < 1 << 20, $"sparse.img takes {allocated} bytes on the target");
    }

    [Fact]
    public async Task RepeatedSync_AfterChangingOnePercentOfFiles_SendsAboutTheChangedBytes()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var first = Migrate(dir, receiver, src);

        // Change 1% of the files: 100 bytes inside 30 small files, 4 KiB inside a 16 MB file, 1,000 bytes appended to an 8 MB one;
        // delete one file and add one.
        var random = new Random(42);
        long changed = 0, changedFileBytes = 0;
        var small = Directory.EnumerateFiles(src, "f*.txt", SearchOption.AllDirectories).Where(f => new FileInfo(f).Length > 500).Take(30).ToList();
        Assert.Equal(30, small.Count);
        foreach (var file in small)
        {
            changed += Overwrite(file, new FileInfo(file).Length / 2, 100, random);
            changedFileBytes += new FileInfo(file).Length;
        }
        changed += Overwrite(Path.Combine(src, "data", "big.bin"), 8_000_000, 4096, random);
        changedFileBytes += 16_000_000;
        var append = new byte[1000];
        random.NextBytes(append);
        using (var f = new FileStream(Path.Combine(src, "opt", "big1.bin"), FileMode.Append))
        {
            f.Write(append);
        }
        changed += 1000;
        changedFileBytes += 8_001_000;
        File.Delete(Path.Combine(src, "d05", "s5", "f00005.bin"));
        await File.WriteAllTextAsync(Path.Combine(src, "etc", "new.conf"), "new\n");

        var second = Migrate(dir, receiver, src);
        var wire = second.GetProperty("data_wire_bytes").GetInt64();
        var message = $"second sync: {wire} bytes of file data on the wire for {changed} changed bytes in {small.Count + 2} files of {changedFileBytes} bytes " +
            $"(first sync: {first.GetProperty("data_wire_bytes").GetInt64()}); {second}";
        output.WriteLine(message);
        Assert.Equal(32, second.GetProperty("delta_files").GetInt64());
        Assert.Equal(1, second.GetProperty("whole_files").GetInt64());
        Assert.True(second.GetProperty("unchanged_files").GetInt64() > 3200, message);
        // About the changed bytes: rsync's block granularity costs up to two blocks a change (700 B for small files, ~4 KiB for the large ones).
        Assert.True(wire < changed + (small.Count * 2 * 700) + (4 * 4096) + 4096, message);
        Assert.True(wire < changedFileBytes / 100, message);

        using var target = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true);
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(target, dir["tgt"])));
    }

    [Fact]
    public async Task RepeatSyncs_OnTheLastSyncsIndex_FollowReplacementsAndDeletions_AndADiskTouchedSinceIsCheckedAgain()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var work = Path.Combine(dir["out"], "fm", "work");
        Migrate(dir, receiver, src);
        foreach (var tree in new[] { "tree-0.index", "tree-1.index" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(work, tree)));
        }

        // What an index must not hide: a directory gone with all it held, a file become a directory and a
        // directory a file, and metadata changed with the size and time kept (owner, mode, an xattr, a symlink's target).
        Sh.Bash($"""
            cd {src}
            rm -r d03
            g=$(ls -d d06/s6/* | head -1); rm "$g"; mkdir "$g"; echo inside > "$g/new"
            rm -r d04/s4; echo now-a-file > d04/s4
            f=$(ls d07/s0/* | head -1); touch -r "$f" /tmp/ferry-keep-time.$$
            chown 1234:5678 "$f"; chmod 0640 "$f"; setfattr -n user.changed -v yes "$f"; touch -r /tmp/ferry-keep-time.$$ "$f"; rm /tmp/ferry-keep-time.$$
            ln -sfn /elsewhere link-to-text; touch -h -d '2021-05-05 10:00:00.123456789' link-to-text
            touch -d '2020-01-01' d08
            """);
        var second = Migrate(dir, receiver, src);
        output.WriteLine($"second sync, on the first's index: {second}");
        using (var image = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true))
        {
            Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(image, dir["tgt"])));
            image.UnmountAll();
        }

        // Someone changes the working disk between syncs: a file removed and a stray one added. The disk is no longer the
        // one the index was sealed with, so the next sync checks every entry on it and puts both right.
        using (var disk = LoopDisk.Create(Path.Combine(work, "vda.raw"), 0))
        {
            var mounted = disk.Mount(2, dir["w"]);
            File.Delete(Path.Combine(mounted, "etc", "app.conf"));
            File.WriteAllText(Path.Combine(mounted, "stray"), "not from the source");
            disk.UnmountAll();
        }
        var third = Migrate(dir, receiver, src);
        output.WriteLine($"third sync, on a disk changed since: {third}");
        Assert.Equal(1, third.GetProperty("whole_files").GetInt64());
        using var final = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true);
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(final, dir["tgt"])));
    }

    [Fact]
    public async Task IncrementalFileJob_TwoCyclesThenCutover_SendsDeltasKeepsTwoCyclesImagesAndTheLastEqualsTheSource()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        string[] cycle = ["--incremental", "--keep", "2", "--cycles", "1"];

        Migrate(dir, receiver, src, extra: cycle);
        var random = new Random(7);
        Overwrite(Path.Combine(src, "data", "big.bin"), 4_000_000, 4096, random);
        await File.WriteAllTextAsync(Path.Combine(src, "etc", "cycle2.conf"), "second\n");
        var second = Migrate(dir, receiver, src, extra: cycle);
        output.WriteLine($"cycle 2: {second}");
        Assert.Equal(1, second.GetProperty("delta_files").GetInt64());
        Assert.Equal(1, second.GetProperty("whole_files").GetInt64());
        Assert.True(second.GetProperty("data_wire_bytes").GetInt64() < 64 << 10, $"cycle 2 sent more than the changes: {second}");

        await File.WriteAllTextAsync(Path.Combine(src, "etc", "cycle3.conf"), "third\n");
        Migrate(dir, receiver, src, extra: ["--incremental", "--keep", "2", "--cutover"]);

        var kept = Directory.GetDirectories(Path.Combine(dir["out"], "fm"), "cycle-*").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["cycle-000002", "cycle-000003"], kept);
        Assert.False(Directory.Exists(Path.Combine(dir["out"], "fm", "work")), "the cut-over left the working copy behind");
        using var target = LoopDisk.Create(Path.Combine(dir["out"], "fm", "cycle-000003", "vda.raw"), 0, readOnly: true);
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(target, dir["tgt"])));
    }

    [Fact]
    public async Task MixedModes_FileRootAndBlockData_CopiesBothAndRefusesAResizedBlockPartition()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        // A block copy of a quiet filesystem is consistent; the agent warns about a read-write one.
        Sh.Run("mount", "-o", "remount,ro", Path.Combine(src, "data")).Check("remount /data read-only");
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);

        var resized = Migrate(dir, receiver, src, MixedLayout.Replace("\"mode\": \"block\"", "\"mode\": \"block\", \"size\": \"800MiB\"", StringComparison.Ordinal), expectExit: 2);
        Assert.Contains("E_LAYOUT_INVALID", resized.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir["out"], "fm")), "a refused layout left something on the receiver");

        var summary = Migrate(dir, receiver, src, MixedLayout);
        // The root's ~3,000 files went as files; /data's ~300 went inside its blocks.
        Assert.InRange(summary.GetProperty("whole_files").GetInt64(), 3000, 3100);
        using var target = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true);
        Assert.Equal(Blkid(source.Partition(2)), Blkid(target.Partition(3)));
        Sh.Run("xfs_repair", "-n", target.Partition(3)).Check("xfs_repair -n on the block-copied /data");
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(target, dir["tgt"])));
    }

    [Fact]
    public async Task AgentKilledMidTransfer_NextRunKeepsWhatArrivedAndCompletes()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        File.WriteAllText(dir["layout.json"], Layout);
        var target = Path.Combine(dir["out"], "fm", "work", "mnt", "0");

        // 40 Mbit/s: the ~80 MB tree takes about 15 s, long enough to be cut in the middle.
        using (var agent = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(AgentBinary.Path,
            ["migrate", "--mode", "file", "--layout", dir["layout.json"], "--source-root", src, .. receiver.AgentArgs(), "--source-name", "fm",
             "--bandwidth", "40", "--json-progress"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            Poll.Until(TimeSpan.FromMinutes(2), () => CountInPlace(target, src), n => n >= 1000 || agent.HasExited, "1,000 files to arrive");
            Assert.False(agent.HasExited, "the transfer finished before it could be cut");
            agent.Kill();
            await agent.WaitForExitAsync();
        }
        var arrived = CountInPlace(target, src);

        var resumed = Migrate(dir, receiver, src);
        output.WriteLine($"{arrived} files were in place when the agent was killed; the next run: {resumed}");
        Assert.True(resumed.GetProperty("unchanged_files").GetInt64() >= arrived - 10, resumed.ToString());
        Assert.True(resumed.GetProperty("whole_files").GetInt64() < 3300 - arrived + 10, resumed.ToString());
        using var image = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true);
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(image, dir["tgt"])));
    }

    [Fact]
    public async Task SourceChangingDuringSync_SyncCompletes_AndAFollowingSyncConverges()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => Churn(src, stop.Token));

        // 80 Mbit/s: the ~80 MB tree takes several seconds, all of them with files being created, grown, truncated and deleted.
        var first = Migrate(dir, receiver, src, extra: ["--bandwidth", "80"]);
        await stop.CancelAsync();
        var operations = await writer.WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine($"first sync, while {operations} changes were made: {first}");
        Assert.True(operations > 100, $"only {operations} changes were made during the sync: the test proves little");

        var second = Migrate(dir, receiver, src);
        output.WriteLine($"second sync, source at rest: {second}");
        using var image = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true);
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(image, dir["tgt"])));
    }

    [Fact]
    public async Task ConnectionCutFiveTimes_AgentReconnectsByItselfAndTheTreeIsIdentical()
    {
        using var dir = new TempDir();
        var src = dir["src"];
        using var source = FileSourceBuilder.Build(dir, src);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        await using var proxy = new FaultProxy(receiver.Host.DataEndpoint.Port, new FaultPlan(Cuts: 5, CutAfterMin: 2 << 20, CutAfterMax: 12 << 20, Seed: 5));

        var summary = Migrate(dir, receiver, src, extra: ["--bandwidth", "160"], dataPort: proxy.Port);

        output.WriteLine($"{proxy.Cuts} cuts over {proxy.Connections} connections: {summary}");
        Assert.Equal(5, proxy.Cuts);
        using var image = LoopDisk.Create(Path.Combine(dir["out"], "fm", "vda.raw"), 0, readOnly: true);
        Assert.Equal("", FileSourceBuilder.Differences(src, MountTarget(image, dir["tgt"])));
    }

    /// <summary>Changes the source tree until stopped: new files, appends, truncations, deletions, whole directories replaced. Returns how many.</summary>
    private static int Churn(string root, CancellationToken stop)
    {
        var random = new Random(1127);
        var churn = Directory.CreateDirectory(Path.Combine(root, "churn")).FullName;
        var existing = Directory.EnumerateFiles(Path.Combine(root, "d01"), "*", SearchOption.AllDirectories).ToList();
        var operations = 0;
        while (!stop.IsCancellationRequested)
        {
            var sub = Path.Combine(churn, "d" + random.Next(8).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(sub);
            var files = Directory.GetFiles(sub);
            var victim = files.Length > 0 ? files[random.Next(files.Length)] : existing[random.Next(existing.Count)];
            try
            {
                switch (random.Next(5))
                {
                    case 0:
                        var data = new byte[random.Next(1, 256 << 10)];
                        random.NextBytes(data);
                        File.WriteAllBytes(Path.Combine(sub, $"f{operations}.bin"), data);
                        break;
                    case 1:
                        File.AppendAllText(victim, new string('x', random.Next(1, 64 << 10)));
                        break;
                    case 2:
                        using (var f = new FileStream(victim, FileMode.Open, FileAccess.Write))
                        {
                            f.SetLength(f.Length / 2);
                        }
                        break;
                    case 3:
                        File.Delete(victim);
                        break;
                    default:
                        Directory.Delete(sub, recursive: true);
                        break;
                }
                operations++;
            }
            catch (IOException)
            {
                // The victim went away meanwhile (this writer deleted it): try another.
            }
            stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(5));
        }
        return operations;
    }

    /// <summary>Regular files in place under the target's root (not those still arriving in .ferry-partial).</summary>
    /// <summary>Files the target holds complete: with the source's size and modification time (one still arriving has neither yet).</summary>
    private static int CountInPlace(string target, string src)
    {
        if (!Directory.Exists(target))
        {
            return 0;
        }
        var source = FileListing(src);
        return FileListing(target).Count(source.Contains);
    }

    private static HashSet<string> FileListing(string root) =>
        Sh.Run("find", root, "-path", Path.Combine(root, ".ferry-partial"), "-prune", "-o", "-type", "f", "-printf", "%P %s %T@\\n").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    private const string MixedLayout = """
        { "disks": [ { "name": "vda", "size": "2GiB", "partitions": [
            { "mount_point": "/", "size": "600MiB" },
            { "mount_point": "/data", "mode": "block" } ] } ] }
        """;

    private static JsonElement Migrate(TempDir dir, ReceiverFixture receiver, string src, string layout = Layout, int expectExit = 0, string[]? extra = null,
        int? dataPort = null)
    {
        File.WriteAllText(dir["layout.json"], layout);
        var run = AgentBinary.Run([
            "migrate", "--mode", "file", "--layout", dir["layout.json"], "--source-root", src, .. receiver.AgentArgs(dataPort: dataPort),
            "--source-name", "fm", "--format", "raw", "--json-progress", .. extra ?? [],
        ]);
        Assert.True(run.ExitCode == expectExit, $"agent exited {run.ExitCode}, not {expectExit}:\n{run.Stderr}");
        if (expectExit != 0)
        {
            return JsonDocument.Parse(JsonSerializer.Serialize(run.Stderr)).RootElement;
        }
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        return lines.Single(l => l.GetProperty("phase").GetString() == "summary");
    }

    /// <summary>Mounts the image's root and, inside it, its /data, read-only, as the source has them.</summary>
    private static string MountTarget(LoopDisk target, string at)
    {
        target.Mount(2, at, "ro");
        target.Mount(3, Path.Combine(at, "data"), "ro,nouuid");
        return at;
    }

    private static long Overwrite(string path, long offset, int count, Random random)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
        return count;
    }

    /// <summary>dumpe2fs's feature list, less the state flags a mounted filesystem shows (needs_recovery, orphan_present).</summary>
    private static string ExtFeatures(string device) => string.Join(' ', Sh.Run("dumpe2fs", "-h", device).Check("dumpe2fs -h").Stdout.Split('\n')
        .Single(l => l.StartsWith("Filesystem features:", StringComparison.Ordinal))["Filesystem features:".Length..]
        .Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(f => f is not ("needs_recovery" or "orphan_present")).Order(StringComparer.Ordinal));

    /// <summary>xfs_db's feature names ("versionnum [...] = V5,NLINK,..."), less ATTR, which the first xattr written sets.</summary>
    private static string XfsVersion(string device) => string.Join(',', Sh.Run("xfs_db", "-r", "-c", "version", device).Check("xfs_db version").Stdout
        .Split('=')[^1].Trim().Split(',').Where(f => f is not ("ATTR" or "ATTR2")).Order(StringComparer.Ordinal));

    private static string Blkid(string device) =>
        string.Join(' ', Sh.Run("blkid", "-p", "-s", "TYPE", "-s", "UUID", "-s", "LABEL", "-o", "export", device).Check("blkid").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("DEVNAME", StringComparison.Ordinal)));
}
