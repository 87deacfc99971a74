using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Ferry.Tests.Integration;

/// <summary>A published executable run in the background with its output collected, so that a test can wait for what it prints and kill it (-9).</summary>
internal sealed class LoggedProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private LoggedProcess(Process process) => _process = process;

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

    public static LoggedProcess Start(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var started = new LoggedProcess(Process.Start(psi)!);
        started._process.OutputDataReceived += (_, e) => started.Append(e.Data);
        started._process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        started._process.BeginOutputReadLine();
        started._process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits until every pattern has matched the output and returns the matches; kills the process and fails when it ends first or takes 30 s.</summary>
    public Match[] WaitFor(string what, params Regex[] patterns)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            var log = Log;
            var matches = patterns.Select(p => p.Match(log)).ToArray();
            if (matches.All(m => m.Success))
            {
                return matches;
            }
            _process.WaitForExit(50);
        }
        var all = Log;
        Dispose();
        throw new InvalidOperationException($"{what} did not become ready:\n{all}");
    }

    /// <summary>kill -9: no chance to flush or close anything.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

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
        Kill();
        _process.Dispose();
    }
}
