using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Ferry.Tests.Integration;

/// <summary>The published `ferry receiver` as a process on loopback, so that a test can kill it (-9) and start it again on the same ports and output.</summary>
internal sealed partial class ReceiverProcess : IDisposable
{
    private readonly LoggedProcess _process;

    private ReceiverProcess(LoggedProcess process, string fingerprint)
    {
        _process = process;
        Fingerprint = fingerprint;
    }

    /// <summary>The receiver's certificate SHA-256 (the same after a restart: the certificate lives in the output directory).</summary>
    public string Fingerprint { get; }

    public string Log => _process.Log;

    public static ReceiverProcess Start(string output, int controlPort, int dataPort, string token)
    {
        var process = LoggedProcess.Start(ServeProcess.Ferry, ["receiver", "--listen", "127.0.0.1", "--control-port", Text(controlPort),
            "--data-port", Text(dataPort), "--out", output, "--token", token]);
        var fingerprint = process.WaitFor("ferry receiver", FingerprintLine())[0].Groups[1].Value;
        return new ReceiverProcess(process, fingerprint);
    }

    /// <summary>kill -9: no chance to flush or close anything.</summary>
    public void Kill() => _process.Kill();

    /// <summary>A port nothing listens on now (the receiver binds it when it starts).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose() => _process.Dispose();

    [GeneratedRegex(@"Receiver certificate SHA-256 fingerprint: ([0-9a-f]{64})")]
    private static partial Regex FingerprintLine();
}
