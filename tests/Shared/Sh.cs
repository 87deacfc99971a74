using System.Diagnostics;

namespace Ferry.Tests;

/// <summary>Runs a real command (sfdisk, mkfs, losetup, the published agent) and captures what it prints.</summary>
internal static class Sh
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public Result Check(string what)
        {
            if (ExitCode != 0)
            {
                throw new InvalidOperationException($"{what} failed with exit code {ExitCode}:\n{Stdout}\n{Stderr}");
            }
            return this;
        }
    }

    public static Result Run(string file, params string[] args) => Run(file, args, null, TimeSpan.FromMinutes(5));

    public static Result Run(string file, IEnumerable<string> args, string? stdin, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return new Result(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Runs a shell snippet (for pipelines in fixtures); fails the test when it fails.</summary>
    public static string Bash(string script) => Run("/bin/bash", ["-euo", "pipefail", "-c", script], null, TimeSpan.FromMinutes(5)).Check(script).Stdout;
}
