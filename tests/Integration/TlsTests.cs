using Ferry.Transfer.Control;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// Encrypted, pinned channels: the control channel is always TLS; the data channel is TLS unless
/// agent and receiver share a machine or the job allows cleartext; a certificate other than the
/// pinned one is refused before anything is sent.
/// </summary>
[Collection("loop devices")]
public sealed class TlsTests
{
    [Fact]
    public async Task BlockMigration_WithTlsOnOverLoopback_CopiesTheDiskExactly()
    {
        using var dir = new TempDir();
        using var source = RandomDisk(dir);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"], TransportSecurity.On);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--tls", "on", "--disk", source.Device, "--source-name", "tls", "--format", "raw", "--checksum"]))
            .WaitAsync(TimeSpan.FromMinutes(5));

        Assert.True(run.ExitCode == 0, run.Stderr);
        var image = Path.Combine(dir["out"], "tls", Path.GetFileName(source.Device) + ".raw");
        Sh.Run("cmp", source.Device, image).Check("cmp source and image");
    }

    [Fact]
    public async Task ReceiverRequiringTls_RefusesACleartextAgent_WithTlsRequired_AndStoresNothing()
    {
        using var dir = new TempDir();
        using var source = RandomDisk(dir);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"], TransportSecurity.On);

        var run = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(), "--tls", "off", "--disk", source.Device, "--source-name", "plain", "--format", "raw"]))
            .WaitAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("E_TLS_REQUIRED", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir["out"], "plain", Path.GetFileName(source.Device) + ".raw")), "a cleartext agent's image was stored");
    }

    [Fact]
    public async Task ManInTheMiddle_PresentingAnotherCertificate_IsRefusedOnTheControlAndTheDataChannel()
    {
        using var dir = new TempDir();
        using var source = RandomDisk(dir);
        await using var receiver = await ReceiverFixture.StartAsync(dir["out"]);
        await using var mitm = new MitmProxy();

        var control = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(controlPort: mitm.Port), "--disk", source.Device, "--source-name", "m1"]))
            .WaitAsync(TimeSpan.FromMinutes(5));
        var data = await Task.Run(() => AgentBinary.Run(["migrate", .. receiver.AgentArgs(dataPort: mitm.Port), "--tls", "on", "--disk", source.Device, "--source-name", "m2"]))
            .WaitAsync(TimeSpan.FromMinutes(5));

        foreach (var run in new[] { control, data })
        {
            Assert.Equal(6, run.ExitCode);
            Assert.Contains("E_CERTIFICATE_MISMATCH", run.Stderr, StringComparison.Ordinal);
            Assert.Contains(receiver.Host.Fingerprint, run.Stderr, StringComparison.Ordinal);
        }
        Assert.True(mitm.Connections >= 2, $"the agent made {mitm.Connections} connection(s) to the man in the middle");
        Assert.Equal(0, mitm.SentData);
        Assert.False(Directory.Exists(Path.Combine(dir["out"], "m1")), "a session was opened through the man in the middle");
    }

    /// <summary>A 32 MiB disk of random bytes (no partition table): every block is sent.</summary>
    private static LoopDisk RandomDisk(TempDir dir)
    {
        Sh.Run("dd", "if=/dev/urandom", $"of={dir["disk.img"]}", "bs=1M", "count=32", "status=none").Check("dd");
        return LoopDisk.Create(dir["disk.img"], 0, readOnly: true);
    }
}
