using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Ferry.Tests.Integration;

/// <summary>
/// The published `ferry serve --with-receiver` as a process on loopback (free ports, a fast
/// heartbeat), and the operator CLI pointed at it.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServeProcess(Process process, string dataDir)
    {
        _process = process;
        DataDir = dataDir;
    }

    public string DataDir { get; }

    public string Url { get; private set; } = "";

    /// <summary>The agent API certificate's SHA-256, as `ferry serve` prints it.</summary>
    public string Fingerprint { get; private set; } = "";

    public string Token => File.ReadAllText(Path.Combine(DataDir, "admin-token")).Trim();

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static string Ferry => Path.Combine(AgentBinary.RepoRoot(), "artifacts", "ferry", "ferry");

    public static ServeProcess Start(string dataDir, int heartbeatSeconds = 1)
    {
        if (!File.Exists(Ferry))
        {
            throw new InvalidOperationException($"{Ferry} is missing: run `make package` (make test does)");
        }
        var psi = new ProcessStartInfo(Ferry) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "serve", "--data-dir", dataDir, "--listen", "127.0.0.1", "--port", "0", "--agent-port", "0", "--with-receiver",
            "--receiver-control-port", "0", "--receiver-data-port", "0", "--heartbeat-seconds", heartbeatSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }
        var serve = new ServeProcess(Process.Start(psi)!, dataDir);
        serve._process.OutputDataReceived += (_, e) => serve.Append(e.Data);
        serve._process.ErrorDataReceived += (_, e) => serve.Append(e.Data);
        serve._process.BeginOutputReadLine();
        serve._process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var m = ReadyLine().Match(serve.Log);
            var f = FingerprintLine().Match(serve.Log);
            if (m.Success && f.Success)
            {
                serve.Url = "http://" + m.Groups[1].Value;
                serve.Fingerprint = f.Groups[1].Value;
                return serve;
            }
            if (serve._process.HasExited)
            {
                break;
            }
            Thread.Yield();
            serve._process.WaitForExit(50);
        }
        serve.Dispose();
        throw new InvalidOperationException("ferry serve did not become ready:\n" + serve.Log);
    }

    /// <summary>Runs an operator verb against this server; fails the test when it fails.</summary>
    public string Cli(params string[] args)
    {
        var run = Sh.Run(Ferry, [.. args, "--server", Url, "--token", Token], null, TimeSpan.FromMinutes(1));
        return run.Check("ferry " + string.Join(' ', args)).Stdout;
    }

    public Sh.Result TryCli(params string[] args) => Sh.Run(Ferry, [.. args, "--server", Url, "--token", Token], null, TimeSpan.FromMinutes(1));

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Control plane ready on (127\.0\.0\.1:\d+)")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@"Agent API certificate SHA-256 fingerprint: ([0-9a-f]{64})")]
    private static partial Regex FingerprintLine();
}
