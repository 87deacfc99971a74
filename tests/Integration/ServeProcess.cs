using System.Text.RegularExpressions;

namespace Ferry.Tests.Integration;

/// <summary>
/// The published `ferry serve --with-receiver` as a process on loopback (free ports, a fast
/// heartbeat), and the operator CLI pointed at it.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly LoggedProcess _process;

    private ServeProcess(LoggedProcess process, string dataDir, string url, string fingerprint)
    {
        _process = process;
        DataDir = dataDir;
        Url = url;
        Fingerprint = fingerprint;
    }

    public string DataDir { get; }

    public string Url { get; }

    /// <summary>The agent API certificate's SHA-256, as `ferry serve` prints it.</summary>
    public string Fingerprint { get; }

    public string Token => File.ReadAllText(Path.Combine(DataDir, "admin-token")).Trim();

    public string Log => _process.Log;

    public static string Ferry => Path.Combine(AgentBinary.RepoRoot(), "artifacts", "ferry", "ferry");

    public static ServeProcess Start(string dataDir, int heartbeatSeconds = 1)
    {
        if (!File.Exists(Ferry))
        {
            throw new InvalidOperationException($"{Ferry} is missing: run `make package` (make test does)");
        }
        var process = LoggedProcess.Start(Ferry, ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1", "--port", "0", "--agent-port", "0", "--with-receiver",
            "--receiver-control-port", "0", "--receiver-data-port", "0", "--heartbeat-seconds", heartbeatSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var ready = process.WaitFor("ferry serve", ReadyLine(), FingerprintLine());
        return new ServeProcess(process, dataDir, "http://" + ready[0].Groups[1].Value, ready[1].Groups[1].Value);
    }

    /// <summary>Runs an operator verb against this server; fails the test when it fails.</summary>
    public string Cli(params string[] args)
    {
        var run = Sh.Run(Ferry, [.. args, "--server", Url, "--token", Token], null, TimeSpan.FromMinutes(1));
        return run.Check("ferry " + string.Join(' ', args)).Stdout;
    }

    public Sh.Result TryCli(params string[] args) => Sh.Run(Ferry, [.. args, "--server", Url, "--token", Token], null, TimeSpan.FromMinutes(1));

    public void Dispose() => _process.Dispose();

    [GeneratedRegex(@"Control plane ready on (127\.0\.0\.1:\d+)")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@"Agent API certificate SHA-256 fingerprint: ([0-9a-f]{64})")]
    private static partial Regex FingerprintLine();
}
