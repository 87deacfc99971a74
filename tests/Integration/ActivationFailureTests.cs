using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// `./agent` refuses bad activations with a stable code and an exit code, and leaves nothing behind:
/// no registration file on the source, no source on the control plane.
/// </summary>
[Collection("loop devices")]
public sealed class ActivationFailureTests
{
    [Fact]
    public void Activate_UnknownCode_ExitsAuthFailedAndRegistersNothing()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);

        var run = Agent(dir, "--server", serve.Url, "--server-fingerprint", serve.Fingerprint, "--code", "at-0123456789abcdef:not-a-secret", "--yes");

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("E_CODE_UNKNOWN", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-secret", run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir["home/client_data"]));
        Assert.Equal("[]", serve.Cli("source", "list", "--json").Trim());
    }

    [Fact]
    public void Activate_PinningAnotherCertificate_IsRefusedAsCertificateMismatch_BeforeTheCodeIsSent()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);
        var code = System.Text.Json.JsonDocument.Parse(serve.Cli("code", "create", "--json")).RootElement.GetProperty("command").GetString()!
            .Split("--code ")[1].Split(' ')[0];

        // As if someone between agent and control plane answered with a certificate of their own.
        var run = Agent(dir, "--server", serve.Url, "--server-fingerprint", new string('a', 64), "--code", code, "--yes");

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("E_CERTIFICATE_MISMATCH", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(serve.Fingerprint, run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir["home/client_data"]));
        Assert.Equal("[]", serve.Cli("source", "list", "--json").Trim());
        Assert.Contains("\"used\":0", serve.Cli("code", "list", "--json").Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Activate_ControlPlaneUnreachable_ExitsUnreachable()
    {
        using var dir = new TempDir();

        var run = Agent(dir, "--server", "http://127.0.0.1:1", "--server-fingerprint", new string('0', 64), "--code", "at-0123456789abcdef:x", "--yes");

        Assert.Equal(5, run.ExitCode);
        Assert.Contains("E_CONTROL_UNREACHABLE", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir["home/client_data"]));
    }

    [Fact]
    public async Task Activate_ServerThatIsNotFerry_ExitsNotFerry()
    {
        using var dir = new TempDir();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            _ = await stream.ReadAtLeastAsync(new byte[4096], 1, throwOnEndOfStream: false);
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>"));
        });

        var run = Agent(dir, "--server", $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", "--server-fingerprint", new string('0', 64), "--code", "at-0123456789abcdef:x", "--yes");
        await server.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(9, run.ExitCode);
        Assert.Contains("E_NOT_FERRY", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Activate_NonInteractiveWithoutYes_AsksNothingAndChangesNothing()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);
        var code = System.Text.Json.JsonDocument.Parse(serve.Cli("code", "create", "--json")).RootElement;
        var codeText = code.GetProperty("command").GetString()!.Split("--code ")[1];

        var run = Agent(dir, "--server", serve.Url, "--server-fingerprint", serve.Fingerprint, "--code", codeText);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--yes", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir["home/client_data"]));
        Assert.Equal("[]", serve.Cli("source", "list", "--json").Trim());
    }

    [Fact]
    public void Activate_WithAccessKeyPair_RegistersAndAWrongSecretDoesNot()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);
        var key = System.Text.Json.JsonDocument.Parse(serve.Cli("accesskey", "create", "--json")).RootElement;
        var id = key.GetProperty("id").GetString()!;

        var wrong = Agent(dir, "--server", serve.Url, "--server-fingerprint", serve.Fingerprint, "--accesskey-id", id, "--accesskey-secret", "not-the-secret", "--yes");
        Assert.Equal(6, wrong.ExitCode);
        Assert.Contains("E_ACCESS_KEY_INVALID", wrong.Stderr, StringComparison.Ordinal);
        Assert.Equal("[]", serve.Cli("source", "list", "--json").Trim());

        var run = Agent(dir, "--server", serve.Url, "--server-fingerprint", serve.Fingerprint, "--accesskey-id", id, "--accesskey-secret", key.GetProperty("secret").GetString()!, "--yes");
        try
        {
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.Matches(@"Import Source Server \[s-[0-9a-f]{16}\] Successfully!", run.Stdout);
            Assert.Contains("accesskey:" + id, serve.Cli("source", "list", "--json"), StringComparison.Ordinal);
        }
        finally
        {
            Agent(dir, "--abort");
        }
    }

    [Fact]
    public async Task RestApi_ErrorTable_IsServedWithTheTokenAndRefusedWithoutIt()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);
        using var http = new HttpClient();

        using var refused = await http.GetAsync(new Uri(serve.Url + "/api/v1/errors"));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(serve.Url + "/api/v1/errors"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", serve.Token);
        using var served = await http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.True(served.IsSuccessStatusCode, served.ToString());
        var table = System.Text.Json.JsonDocument.Parse(await served.Content.ReadAsStringAsync()).RootElement;
        var certificate = table.EnumerateArray().Single(e => e.GetProperty("code").GetString() == "E_CERTIFICATE_MISMATCH");
        Assert.Equal(6, certificate.GetProperty("exit").GetInt32());
        Assert.Contains("pinned fingerprint", certificate.GetProperty("meaning").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_WrongApiToken_IsRefusedWithAuthFailed()
    {
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);

        var run = Sh.Run(ServeProcess.Ferry, ["code", "list", "--server", serve.Url, "--token", "wrong"], null, TimeSpan.FromMinutes(1));

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("E_AUTH_FAILED", run.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Runs the published agent with its home (client_data, pid, logs) in the test's directory.</summary>
    private static Sh.Result Agent(TempDir dir, params string[] args)
    {
        Directory.CreateDirectory(dir["home"]);
        return Sh.Run(AgentBinary.Path, args, "", TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["FERRY_AGENT_HOME"] = dir["home"] });
    }
}
