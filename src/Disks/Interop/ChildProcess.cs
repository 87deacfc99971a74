using System.Diagnostics;

namespace Ferry.Disks.Interop;

/// <summary>
/// Runs another program to its end: arguments as a list (never through a shell), output collected,
/// cancelling kills it and its children. Whoever calls it decides what a failure means.
/// </summary>
public static class ChildProcess
{
    /// <param name="environment">When given, the program's whole environment instead of this process's.</param>
    /// <exception cref="System.ComponentModel.Win32Exception">The program is not there.</exception>
    public static async Task<ChildResult> RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct, string? input = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (environment is not null)
        {
            psi.Environment.Clear();
            foreach (var (name, value) in environment)
            {
                psi.Environment[name] = value;
            }
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), ct);
            process.StandardInput.Close();
        }
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new ChildResult(process.ExitCode, await stdout, await stderr);
    }
}
