using System.Text.Json;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// The whole operator journey with the published binaries: `ferry serve --with-receiver`, the
/// printed activation command (real install script, real package download), a block job driven
/// from the CLI to a verified image, and a source that goes Offline and comes back.
/// </summary>
[Collection("loop devices")]
public sealed class ControlPlaneEndToEndTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Fact]
    public void ActivationCommand_ThenBlockJob_ImportsTheSourceAndFinishesWithAVerifiedImage()
    {
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["source.img"], 256L << 20, "label: gpt\nsize=1MiB, type=21686148-6449-6E6F-744E-656564454649\nsize=150MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "root", disk.Partition(2)).Check("mkfs.ext4");
        var root = disk.Mount(2, dir["root"]);
        SourceDiskBuilder.Populate(root, 300, seed: 7);
        disk.UnmountAll();
        using var serve = ServeProcess.Start(dir["serve"]);
        var agentDir = dir["agent"];
        try
        {
            var created = JsonDocument.Parse(serve.Cli("code", "create", "--quota", "2", "--days", "1", "--json")).RootElement;
            var command = created.GetProperty("command").GetString()!;
            Assert.StartsWith($"curl -fsSL {serve.Url}/install.sh | sudo bash -s -- --code at-", command, StringComparison.Ordinal);
            // The test runs as root; sudo may not be installed on a minimal CI machine.
            var install = RunActivation(command, $"--dir {agentDir} --yes --include-loop");
            Assert.True(install.ExitCode == 0, $"activation failed ({install.ExitCode}):\n{install.Stdout}\n{install.Stderr}");
            Assert.Matches(@"Import Source Server \[s-[0-9a-f]{16}\] Successfully!", install.Stdout);
            Assert.True(File.Exists(Path.Combine(agentDir, "Excludes", "rsync_excludes_linux.txt")), "the package was not unpacked whole");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(agentDir, "client_data")));

            var source = Single(serve.Cli("source", "list", "--json"));
            var sourceId = source.GetProperty("id").GetString()!;
            Assert.Equal("Available", source.GetProperty("state").GetString());
            Assert.Contains(disk.Device, source.GetProperty("disks").EnumerateArray().Select(d => d.GetString()));

            var job = JsonDocument.Parse(serve.Cli("job", "create", "--source", sourceId, "--disk", disk.Device, "--format", "raw", "--json")).RootElement;
            var jobId = job.GetProperty("id").GetString()!;
            Assert.Equal("Ready", job.GetProperty("state").GetString());
            serve.Cli("job", "start", jobId);
            var finished = Poll.Until(Patience, () => JsonDocument.Parse(serve.Cli("job", "show", jobId, "--json")).RootElement,
                j => j.GetProperty("state").GetString() is "Finished" or "InError", "the job to end");
            Assert.True(finished.GetProperty("state").GetString() == "Finished", $"job ended as {finished}\nserve log:\n{serve.Log}");
            var progress = finished.GetProperty("progress");
            Assert.Equal(progress.GetProperty("total_bytes").GetInt64(), progress.GetProperty("done_bytes").GetInt64());

            var image = finished.GetProperty("images")[0].GetString()!;
            using var copy = LoopDisk.Create(image, 0, readOnly: true);
            Sh.Run("e2fsck", "-fn", copy.Partition(2)).Check("e2fsck -fn on the job's image");
            Assert.Equal(0, Sh.Run("cmp", "-n", "1048576", disk.Partition(1), copy.Partition(1)).ExitCode);
            Assert.Equal("Available", Single(serve.Cli("source", "list", "--json")).GetProperty("state").GetString());

            // No secret in any log, state file, database or image directory on either side, nor on the
            // background agent's command line or in its environment; their holders are 0600 and root's.
            var accessKey = JsonDocument.Parse(serve.Cli("accesskey", "create", "--json")).RootElement;
            var clientData = JsonDocument.Parse(File.ReadAllText(Path.Combine(agentDir, "client_data"))).RootElement;
            var secrets = new Dictionary<string, string>
            {
                ["activation secret"] = command.Split(':')[^1],
                ["AccessKey secret"] = accessKey.GetProperty("secret").GetString()!,
                ["operator token"] = serve.Token,
                ["agent token"] = clientData.GetProperty("agent_token").GetString()!,
            };
            var agentPid = int.Parse(File.ReadAllText(Path.Combine(agentDir, "agent.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            SecretScan.AssertNowhere(secrets, [agentDir, dir["serve"]], new HashSet<string> { "client_data", "admin-token", "secret.key", ".ferry-receiver.pfx", "agent-api.pfx" },
                [serve.Log, install.Stdout, install.Stderr, SecretScan.ProcessText(agentPid)]);
        }
        finally
        {
            Sh.Run(Path.Combine(agentDir, "agent"), "--abort");
        }
    }

    [Fact]
    public void BackgroundAgent_KilledThenStartedAgain_GoesOfflineAndComesBackWithTheSameId()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"], heartbeatSeconds: 1);
        var agentDir = dir["agent"];
        try
        {
            var code = JsonDocument.Parse(serve.Cli("code", "create", "--quota", "1", "--json")).RootElement.GetProperty("command").GetString()!;
            RunActivation(code, $"--dir {agentDir} --yes").Check("activation");
            var id = Single(serve.Cli("source", "list", "--json")).GetProperty("id").GetString()!;

            var pid = int.Parse(File.ReadAllText(Path.Combine(agentDir, "agent.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Sh.Run("kill", "-9", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Check("kill -9 the background agent");
            Poll.Until(Patience, () => Single(serve.Cli("source", "list", "--json")), s => s.GetProperty("state").GetString() == "Offline", "the source to go Offline");

            var restart = Sh.Run(Path.Combine(agentDir, "agent"), ["--server", serve.Url, "--yes"], null, Patience);
            Assert.True(restart.ExitCode == 0, restart.Stderr);
            var back = Poll.Until(Patience, () => Single(serve.Cli("source", "list", "--json")), s => s.GetProperty("state").GetString() == "Available",
                "the source to come back");
            Assert.Equal(id, back.GetProperty("id").GetString());
        }
        finally
        {
            Sh.Run(Path.Combine(agentDir, "agent"), "--abort");
        }
    }

    [Fact]
    public void RunningJob_PauseModifyResumeCancel_TakesEffectOnTheTransferAndFreesTheReceiver()
    {
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["source.img"], 256L << 20, "label: gpt\nsize=200MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", disk.Partition(1)).Check("mkfs.ext4");
        var root = disk.Mount(1, dir["root"]);
        Sh.Bash($"head -c 150000000 /dev/urandom > {root}/incompressible.bin");
        disk.UnmountAll();
        using var serve = ServeProcess.Start(dir["serve"]);
        var agentDir = dir["agent"];
        try
        {
            // 40 Mbit/s: the 150 MB of random data would take about half a minute.
            var jobId = ActivateAndStartBlockJob(serve, agentDir, disk.Device, "--bandwidth", "40");
            Poll.Until(Patience, () => Done(serve, jobId), d => d > 0, "the transfer to start");

            serve.Cli("job", "pause", jobId);
            var paused = WaitForStable(() => Done(serve, jobId), "the paused transfer to stop moving");
            Assert.Equal("Stopped", Show(serve, jobId).GetProperty("state").GetString());
            Assert.True(paused < 150_000_000, "the transfer finished before it could be paused");

            serve.Cli("job", "modify", jobId, "--bandwidth", "400", "--compress", "0");
            Assert.Equal(400, Show(serve, jobId).GetProperty("settings").GetProperty("bandwidth_mbit").GetDouble());
            serve.Cli("job", "resume", jobId);
            Poll.Until(Patience, () => Done(serve, jobId), d => d > paused, "the resumed transfer to move again");

            serve.Cli("job", "cancel", jobId);
            var cancelled = Show(serve, jobId);
            Assert.Equal("Deleting", cancelled.GetProperty("state").GetString());
            Assert.Equal("E_JOB_CANCELLED", cancelled.GetProperty("error_code").GetString());
            var images = Path.Combine(dir["serve"], "images", cancelled.GetProperty("source_id").GetString()!);
            Poll.Until(Patience, () => Directory.Exists(images) ? Directory.GetFiles(images).Length : 0, n => n == 0, "the receiver to drop the unfinished image");
            Assert.Equal("Available", Single(serve.Cli("source", "list", "--json")).GetProperty("state").GetString());
        }
        finally
        {
            Sh.Run(Path.Combine(agentDir, "agent"), "--abort");
        }
    }

    [Fact]
    public void FileJob_WithLayout_CopiesTheMountPointIntoALargerFilesystem()
    {
        Requires.Tool("rsync");
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["source.img"], 256L << 20, "label: gpt\nsize=200MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", "-L", "srv", disk.Partition(1)).Check("mkfs.ext4");
        var root = disk.Mount(1, dir["srv"]);
        SourceDiskBuilder.Populate(root, 300, seed: 11);
        File.WriteAllText(dir["layout.json"], $$"""
            { "disks": [ { "name": "srv", "size": "400MiB", "partition_table": "mbr",
                           "partitions": [ { "mount_point": "{{root}}", "size": "0" } ] } ] }
            """);
        using var serve = ServeProcess.Start(dir["serve"]);
        var agentDir = dir["agent"];
        try
        {
            var code = JsonDocument.Parse(serve.Cli("code", "create", "--json")).RootElement.GetProperty("command").GetString()!;
            RunActivation(code, $"--dir {agentDir} --yes").Check("activation");
            var sourceId = Single(serve.Cli("source", "list", "--json")).GetProperty("id").GetString()!;
            var job = JsonDocument.Parse(serve.Cli("job", "create", "--source", sourceId, "--mode", "file", "--layout", dir["layout.json"], "--format", "raw",
                "--json")).RootElement;
            Assert.Equal("file", job.GetProperty("settings").GetProperty("mode").GetString());
            var jobId = job.GetProperty("id").GetString()!;
            serve.Cli("job", "start", jobId);
            var finished = Poll.Until(Patience, () => Show(serve, jobId), j => j.GetProperty("state").GetString() is "Finished" or "InError", "the file job to end");
            Assert.True(finished.GetProperty("state").GetString() == "Finished", $"job ended as {finished}\nserve log:\n{serve.Log}");

            using var copy = LoopDisk.Create(finished.GetProperty("images")[0].GetString()!, 0, readOnly: true);
            Sh.Run("e2fsck", "-fn", copy.Partition(1)).Check("e2fsck -fn on the file job's image");
            var target = copy.Mount(1, dir["copy"], "ro");
            Assert.Equal("", FileSourceBuilder.Differences(root, target));
            copy.UnmountAll();

            // A second file job, cancelled while it runs, leaves no working copy and no image behind.
            Sh.Bash($"head -c 100000000 /dev/urandom > {root}/incompressible.bin");
            var second = JsonDocument.Parse(serve.Cli("job", "create", "--source", sourceId, "--mode", "file", "--layout", dir["layout.json"],
                "--bandwidth", "20", "--json")).RootElement.GetProperty("id").GetString()!;
            serve.Cli("job", "start", second);
            var work = Path.Combine(dir["serve"], "images", sourceId, "work");
            Poll.Until(Patience, () => Done(serve, second), d => d > 0, "the second file job to move");
            serve.Cli("job", "cancel", second);
            Poll.Until(Patience, () => Directory.Exists(work), exists => !exists, "the receiver to drop the cancelled job's working copy");
        }
        finally
        {
            Sh.Run(Path.Combine(agentDir, "agent"), "--abort");
        }
    }

    [Fact]
    public void BlockJob_ReceiverDiskFillsUpMidWrite_GoesInErrorSayingHowMuchItNeeds_AndRetryResumesToAnIdenticalImage()
    {
        using var dir = new TempDir();
        const long size = 96L << 20;
        using var disk = LoopDisk.Create(dir["source.img"], size);
        Sh.Bash($"head -c {size} /dev/urandom > {disk.Device}");
        // The receiver's images live on a 200 MiB tmpfs: room for the 96 MiB plan and the 64 MiB reserve when the job starts.
        using var images = new Tmpfs(Path.Combine(dir["serve"], "images"), "200m");
        using var serve = ServeProcess.Start(dir["serve"]);
        var agentDir = dir["agent"];
        try
        {
            // 40 Mbit/s: the 96 MiB take about 20 s, time enough to fill the receiver's disk in the middle.
            var jobId = ActivateAndStartBlockJob(serve, agentDir, disk.Device, "--format", "raw", "--bandwidth", "40");
            // Past the first checkpoints (16 MiB per connection), so that the retry has a breakpoint to go on from.
            Poll.Until(Patience, () => Done(serve, jobId), d => d > 48 << 20, "the transfer to be under way");

            // Something else takes the receiver's space while the job writes.
            // The job keeps writing meanwhile, so what is free may shrink between reading it and taking it: try again then.
            var filler = Path.Combine(images.Path, "filler");
            Sh.Bash($"for i in 1 2 3 4 5; do fallocate -l $(( $(df -B1 --output=avail {images.Path} | tail -1) - 65536 )) {filler}.$i && break; done; true");
            var failed = Poll.Until(Patience, () => Show(serve, jobId), j => j.GetProperty("state").GetString() is "InError" or "Finished", "the job to stop");
            Assert.True(failed.GetProperty("state").GetString() == "InError", $"job ended as {failed}\nserve log:\n{serve.Log}");
            Assert.Equal("E_RECEIVER_NO_SPACE", failed.GetProperty("error_code").GetString());
            var message = failed.GetProperty("error_message").GetString()!;
            Assert.Matches(@"needs about \d+ MiB more", message);
            var stoppedAt = failed.GetProperty("progress").GetProperty("done_bytes").GetInt64();

            foreach (var f in Directory.GetFiles(images.Path, "filler.*"))
            {
                File.Delete(f);
            }
            serve.Cli("job", "retry", jobId);
            var finished = Poll.Until(Patience, () => Show(serve, jobId), j => j.GetProperty("state").GetString() is "InError" or "Finished", "the retried job to end");
            Assert.True(finished.GetProperty("state").GetString() == "Finished", $"retried job ended as {finished}\nserve log:\n{serve.Log}");
            var image = finished.GetProperty("images")[0].GetString()!;
            Assert.True(Sh.Run("cmp", disk.Device, image).ExitCode == 0, "the image after the retry differs from the source disk");
            var agentLog = AgentLog(agentDir);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(agentLog, @"resumed on .*: [1-9]\d* of \d+ bytes were already durable there"),
                $"the retry did not resume from the breakpoint:\n{agentLog}\nserve log:\n{serve.Log}");
            var resumedAt = long.Parse(System.Text.RegularExpressions.Regex.Match(agentLog, @"resumed on .*: (\d+) of").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            output.WriteLine($"disk full: {message}; stopped at {stoppedAt >> 20} MiB of {size >> 20} MiB; the retry resumed at {resumedAt >> 20} MiB");
        }
        finally
        {
            Sh.Run(Path.Combine(agentDir, "agent"), "--abort");
        }
    }

    [Fact]
    public void IncrementalJob_ThreeCycles_WaitsBetweenCyclesSendsWhatChangedKeepsTwoImagesAndCutsOver()
    {
        using var dir = new TempDir();
        using var disk = LoopDisk.Create(dir["source.img"], 256L << 20, "label: gpt\nsize=200MiB, type=L\n");
        Sh.Run("mkfs.ext4", "-q", "-F", "-b", "4096", disk.Partition(1)).Check("mkfs.ext4");
        var root = disk.Mount(1, dir["root"]);
        SourceDiskBuilder.Populate(root, 300, seed: 9);
        Sh.Bash($"head -c 100000000 /dev/urandom > {root}/data.bin");
        disk.UnmountAll();
        using var serve = ServeProcess.Start(dir["serve"]);
        var agentDir = dir["agent"];
        try
        {
            var jobId = ActivateAndStartBlockJob(serve, agentDir, disk.Device, "--format", "raw", "--incremental", "--every", "1h", "--keep", "2");
            var wire = new List<long>();
            for (var cycle = 1; cycle <= 3; cycle++)
            {
                if (cycle > 1)
                {
                    // 1% of the data rewritten in place between cycles.
                    disk.Mount(1, dir["root"]);
                    Sh.Bash($"for i in $(seq 1 32); do dd if=/dev/urandom of={root}/data.bin bs=65536 count=1 seek=$(( i * 40 + {cycle} )) conv=notrunc status=none; done");
                    disk.UnmountAll();
                    serve.Cli("job", cycle == 3 ? "cutover" : "sync", jobId);
                }
                var expected = cycle == 3 ? "Finished" : "Waiting";
                JsonElement job;
                try
                {
                    job = Poll.Until(Patience, () => Show(serve, jobId), j => j.GetProperty("cycles").GetProperty("completed").GetInt32() == cycle
                        && j.GetProperty("state").GetString() is "Waiting" or "Finished" or "InError", $"cycle {cycle} to end");
                }
                catch (TimeoutException e)
                {
                    throw new TimeoutException($"{e.Message}\nagent log:\n{AgentLog(agentDir)}\nserve log:\n{serve.Log}", e);
                }
                Assert.True(job.GetProperty("state").GetString() == expected, $"after cycle {cycle}: {job}\nserve log:\n{serve.Log}");
                if (cycle < 3)
                {
                    Assert.Equal(JsonValueKind.String, job.GetProperty("cycles").GetProperty("next_at").ValueKind);
                    Assert.Equal("InUse", Single(serve.Cli("source", "list", "--json")).GetProperty("state").GetString());
                }
                wire.Add(job.GetProperty("progress").GetProperty("wire_bytes").GetInt64());
                output.WriteLine($"cycle {cycle}: {wire[^1]} bytes on the wire; image {job.GetProperty("images")[0].GetString()}");
            }
            // 32 x 64 KiB = 2 MiB rewritten: a later cycle carries about that (random data does not compress), not the 100 MB copied first.
            Assert.True(wire[0] > 100_000_000, $"the first cycle sent only {wire[0]} bytes");
            Assert.InRange(wire[1], 2L << 20, 4L << 20);
            Assert.InRange(wire[2], 2L << 20, 4L << 20);

            var finished = Show(serve, jobId);
            var image = finished.GetProperty("images")[0].GetString()!;
            var source = Path.GetDirectoryName(Path.GetDirectoryName(image))!;
            Assert.Equal(["cycle-000002", "cycle-000003"], Directory.GetDirectories(source, "cycle-*").Select(Path.GetFileName).Order().ToList());
            Assert.False(Directory.Exists(Path.Combine(source, "incremental")), "the cut-over left the working images behind");
            foreach (var kept in Directory.GetDirectories(source, "cycle-*"))
            {
                using var copy = LoopDisk.Create(Path.Combine(kept, Path.GetFileName(image)), 0, readOnly: true);
                Sh.Run("e2fsck", "-fn", copy.Partition(1)).Check($"e2fsck -fn on {Path.GetFileName(kept)}");
            }
            Assert.True(Sh.Run("cmp", disk.Device, image).ExitCode == 0, "the image of the cut-over differs from the source disk");
            Assert.Equal("Available", Single(serve.Cli("source", "list", "--json")).GetProperty("state").GetString());
        }
        finally
        {
            Sh.Run(Path.Combine(agentDir, "agent"), "--abort");
        }
    }

    /// <summary>Imports this machine with a new activation code (the agent in <paramref name="agentDir"/>), then creates and starts a block job of <paramref name="device"/>.</summary>
    private static string ActivateAndStartBlockJob(ServeProcess serve, string agentDir, string device, params string[] settings)
    {
        var code = JsonDocument.Parse(serve.Cli("code", "create", "--json")).RootElement.GetProperty("command").GetString()!;
        RunActivation(code, $"--dir {agentDir} --yes --include-loop").Check("activation");
        var sourceId = Single(serve.Cli("source", "list", "--json")).GetProperty("id").GetString()!;
        var jobId = JsonDocument.Parse(serve.Cli(["job", "create", "--source", sourceId, "--disk", device, .. settings, "--json"]))
            .RootElement.GetProperty("id").GetString()!;
        serve.Cli("job", "start", jobId);
        return jobId;
    }

    private static string AgentLog(string agentDir) => string.Join('\n', Directory.GetFiles(Path.Combine(agentDir, "Logs")).Select(File.ReadAllText));

    /// <summary>Runs a printed activation command as printed; the test runs as root, and a minimal machine may have no sudo.</summary>
    private static Sh.Result RunActivation(string command, string extra)
    {
        var asRoot = File.Exists("/usr/bin/sudo") ? command : command.Replace("sudo bash", "bash", StringComparison.Ordinal);
        return Sh.Run("/bin/bash", ["-c", $"{asRoot} {extra}"], null, Patience);
    }

    private static JsonElement Show(ServeProcess serve, string jobId) => JsonDocument.Parse(serve.Cli("job", "show", jobId, "--json")).RootElement;

    private static long Done(ServeProcess serve, string jobId) => Show(serve, jobId).GetProperty("progress").GetProperty("done_bytes").GetInt64();

    /// <summary>Waits until a reading stays the same across three reports (progress is reported every second).</summary>
    private static long WaitForStable(Func<long> read, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        var last = read();
        var same = 0;
        while (same < 3)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {Patience} for {what}; last seen: {last}");
            }
            using var tick = new ManualResetEventSlim();
            tick.Wait(TimeSpan.FromSeconds(1));
            var now = read();
            same = now == last ? same + 1 : 0;
            last = now;
        }
        return last;
    }

    private static JsonElement Single(string json) => Assert.Single(JsonDocument.Parse(json).RootElement.EnumerateArray().ToList());
}
