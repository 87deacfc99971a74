using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>
/// Block replication survives what a long migration meets: connections cut at random points, the
/// agent killed (-9) and started again, the receiver killed (-9) and started again. Each time the
/// transfer goes on from the breakpoint (what the receiver acknowledged as durable), and the image
/// ends identical to the source. The source is incompressible random data on a loop device.
/// </summary>
[Collection("loop devices")]
public sealed partial class ResumeTests(ITestOutputHelper output)
{
    private const long DiskBytes = 128L << 20;

    [Fact]
    public async Task Migrate_FiftyConnectionCutsAtRandomPoints_GoesOnFromTheBreakpointAndTheImageIsIdentical()
    {
        using var dir = new TempDir();
        // 256 MiB: enough that all 50 cuts come before the end.
        using var source = RandomDisk(dir, 256L << 20);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        // Each cut connection carried 2 to 6 MiB of the agent's bytes (mid-frame as often as not), against 1 MiB checkpoints.
        // The agent's 40 Mbit/s make a link on which an acknowledgement can come back before the next cut (at loopback speed
        // every cut would land within milliseconds of the checkpoint before it, and a slow fsync on a busy machine can too).
        await using var proxy = new FaultProxy(receiver.Host.DataEndpoint.Port, new FaultPlan(Cuts: 50, CutAfterMin: 2 << 20, CutAfterMax: 6 << 20, Seed: 20261127));

        var home = Directory.CreateDirectory(dir["agent-home"]).FullName;
        var (agent, stderr) = AgentBinary.Start(["migrate", .. receiver.AgentArgs(dataPort: proxy.Port), "--disk", source.Device, "--source-name", "cuts",
            "--format", "raw", "--checkpoint-mib", "1", "--bandwidth", "40"], home);
        using (agent)
        {
            var ended = await Task.WhenAny(agent.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(4)));
            if (!agent.HasExited)
            {
                agent.Kill();
            }
            Assert.True(agent.HasExited && agent.ExitCode == 0, $"the agent did not finish within 4 minutes ({proxy.Cuts} cuts made):\n{await stderr}");
        }
        var run = new Sh.Result(0, "", await stderr);
        Assert.Equal(50, proxy.Cuts);
        var (reconnects, repeated) = Reconnected(run.Stderr);
        // In flight at a cut: what was sent since the last acknowledged checkpoint on each connection; the
        // bandwidth limit lets at most a quarter second's worth (1.25 MiB) ahead of the wire.
        const long window = 2 * (1 + 2) << 20;
        output.WriteLine($"{proxy.Cuts} cuts over {proxy.Connections} connections; {reconnects} reconnections; {repeated} bytes sent again " +
            $"({repeated / Math.Max(1, reconnects) >> 10} KiB per reconnection; bound {window >> 20} MiB per reconnection)");
        Assert.True(reconnects >= 1, run.Stderr);
        Assert.InRange(repeated, 0, reconnects * window);
        AssertIdentical(source.Device, dir["out"], "cuts");
    }

    [Fact]
    public async Task Migrate_AgentKilledTwentyTimes_EachRunGoesOnFromTheBreakpointAndTheImageIsIdentical()
    {
        using var dir = new TempDir();
        using var source = RandomDisk(dir);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        var home = Directory.CreateDirectory(dir["agent-home"]).FullName;
        string[] args = ["migrate", .. receiver.AgentArgs(), "--disk", source.Device, "--source-name", "kills", "--format", "raw", "--checkpoint-mib", "1"];
        var random = new Random(27);
        long durable = 0;

        for (var kill = 1; kill <= 20; kill++)
        {
            // 40 Mbit/s: about 5 MB/s, so that all 20 runs are killed before the 128 MiB are across.
            var (agent, _) = AgentBinary.Start([.. args, "--bandwidth", "40"], home);
            using var process = agent;
            await Task.Delay(random.Next(300, 900));
            Assert.False(agent.HasExited, "the agent ended before it could be killed: the test proves nothing");
            agent.Kill();
            await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var now = CheckpointBytes(home);
            Assert.True(now >= durable, $"kill {kill}: the breakpoint went back from {durable} to {now}");
            output.WriteLine($"kill {kill}: breakpoint at {now >> 20} MiB (+{(now - durable) >> 10} KiB)");
            durable = now;
        }
        Assert.True(durable > 0, "no run got anything acknowledged");

        var last = await Task.Run(() => Sh.Run(AgentBinary.Path, args, null, TimeSpan.FromMinutes(5), Home(home))).WaitAsync(TimeSpan.FromMinutes(6));
        Assert.True(last.ExitCode == 0, last.Stderr);
        Assert.Contains($"Resumed from the breakpoint: {durable} bytes were already on the receiver.", last.Stderr, StringComparison.Ordinal);
        // The last run sent exactly what was not yet durable: nothing acknowledged was sent again.
        Assert.Matches($@"Sent {Regex.Escape(Ferry.Transfer.ByteSize.Format(DiskBytes - durable))} of ", last.Stderr);
        Assert.Empty(Directory.GetFiles(Path.Combine(home, "Checkpoints")));
        AssertIdentical(source.Device, dir["out"], "kills");
    }

    [Fact]
    public async Task Migrate_ReceiverKilledTwentyTimes_AgentReconnectsAndGoesOnFromTheBreakpointAndTheImageIsIdentical()
    {
        using var dir = new TempDir();
        using var source = RandomDisk(dir);
        var (control, data) = (ReceiverProcess.FreePort(), ReceiverProcess.FreePort());
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var receiver = ReceiverProcess.Start(dir["out"], control, data, token);
        var home = Directory.CreateDirectory(dir["agent-home"]).FullName;
        var random = new Random(1127);
        string[] args = ["migrate", "--receiver", "127.0.0.1", "--control-port", control.ToString(CultureInfo.InvariantCulture),
            "--data-port", data.ToString(CultureInfo.InvariantCulture), "--token", token, "--receiver-fingerprint", receiver.Fingerprint,
            "--disk", source.Device, "--source-name", "receiver-kills", "--format", "raw", "--checkpoint-mib", "1", "--bandwidth", "40",
            "--reconnect-for", "120"];
        var (agent, stderr) = AgentBinary.Start(args, home);
        try
        {
            for (var kill = 1; kill <= 20; kill++)
            {
                // Each receiver is killed while the agent is sending to it: once the agent has its session going, at a random point.
                Poll.Until(TimeSpan.FromMinutes(2), () => receiver.Log, l => l.Contains("Session ", StringComparison.Ordinal) && (kill == 1 || l.Contains(" resumed for source ", StringComparison.Ordinal)) || agent.HasExited,
                    $"the agent to reach receiver {kill}");
                await Task.Delay(random.Next(200, 600));
                Assert.False(agent.HasExited, $"the agent ended before kill {kill} of the receiver: {(agent.HasExited ? await stderr : "")}");
                receiver.Kill();
                receiver.Dispose();
                output.WriteLine($"receiver kill {kill}: breakpoint at {CheckpointBytes(home) >> 20} MiB");
                receiver = ReceiverProcess.Start(dir["out"], control, data, token);
            }
            await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(agent.ExitCode == 0, await stderr);
            var (reconnects, repeated) = Reconnected(await stderr);
            output.WriteLine($"20 receiver kills: the agent reconnected {reconnects} times and sent {repeated >> 10} KiB again " +
                $"({repeated / Math.Max(1, reconnects) >> 10} KiB per reconnection)");
            Assert.True(reconnects >= 20, await stderr);
            Assert.Matches("Session [0-9a-f]{8} resumed for source receiver-kills", receiver.Log);
            AssertIdentical(source.Device, dir["out"], "receiver-kills");
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill();
            }
            agent.Dispose();
            receiver.Dispose();
        }
    }

    private static LoopDisk RandomDisk(TempDir dir, long bytes = DiskBytes)
    {
        var disk = LoopDisk.Create(dir["source.img"], bytes);
        Sh.Bash($"head -c {bytes} /dev/urandom > {disk.Device}");
        return disk;
    }

    private static Dictionary<string, string> Home(string home) => new() { ["FERRY_AGENT_HOME"] = home };

    /// <summary>The planned bytes below the saved breakpoint: the sum of the disks' positions (the whole disk is planned here).</summary>
    private static long CheckpointBytes(string home)
    {
        var files = Directory.Exists(Path.Combine(home, "Checkpoints")) ? Directory.GetFiles(Path.Combine(home, "Checkpoints"), "*.json") : [];
        if (files.Length == 0)
        {
            return 0;
        }
        var file = Assert.Single(files);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        return JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("disks").EnumerateArray().Sum(d => d.GetProperty("position").GetInt64());
    }

    private static (int Reconnects, long Repeated) Reconnected(string stderr)
    {
        var m = ReconnectedLine().Match(stderr);
        return m.Success ? (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) : (0, 0);
    }

    private static void AssertIdentical(string device, string output, string source) =>
        Assert.True(Sh.Run("cmp", device, Path.Combine(output, source, Path.GetFileName(device) + ".raw")).ExitCode == 0,
            $"the image of {source} differs from the source disk");

    [GeneratedRegex(@"Reconnected (\d+) time\(s\); (\d+) bytes in flight")]
    private static partial Regex ReconnectedLine();
}
