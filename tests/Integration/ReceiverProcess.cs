using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Ferry.Tests.Integration;

/// <summary>The published `ferry receiver` as a process on loopback, so that a test can kill it (-9) and start it again on the same ports and output.</summary>
internal sealed partial class ReceiverProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ReceiverProcess(Process process) => _process = process;

    /// <summary>The receiver's certificate SHA-256 (the same after a restart: the certificate lives in the output directory).</summary>
    public string Fingerprint { get; private set; } = "";

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

    public static ReceiverProcess Start(string output, int controlPort, int dataPort, string token)
    {
        var psi = new ProcessStartInfo(ServeProcess.Ferry) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "receiver", "--listen", "127.0.0.1", "--control-port", Text(controlPort), "--data-port", Text(dataPort), "--out", output, "--token", token })
        {
            psi.ArgumentList.Add(a);
        }
        var receiver = new ReceiverProcess(Process.Start(psi)!);
        receiver._process.OutputDataReceived += (_, e) => receiver.Append(e.Data);
        receiver._process.ErrorDataReceived += (_, e) => receiver.Append(e.Data);
        receiver._process.BeginOutputReadLine();
        receiver._process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !receiver._process.HasExited)
        {
            if (FingerprintLine().Match(receiver.Log) is { Success: true } m)
            {
                receiver.Fingerprint = m.Groups[1].Value;
                return receiver;
            }
            receiver._process.WaitForExit(50);
        }
        var log = receiver.Log;
        receiver.Dispose();
        throw new InvalidOperationException("ferry receiver did not become ready:\n" + log);
    }

    /// <summary>kill -9: no chance to flush or close anything.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit(10_000);
    }

    /// <summary>A port nothing listens on now (the receiver binds it when it starts).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

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
            Kill();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Receiver certificate SHA-256 fingerprint: ([0-9a-f]{64})")]
    private static partial Regex FingerprintLine();
}
