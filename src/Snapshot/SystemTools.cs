using Ferry.Disks.Interop;

namespace Ferry.Snapshot;

/// <summary>The real tools of this server. A tool that is not installed answers as a shell would: exit code 127 and a sentence saying so.</summary>
public sealed class SystemTools : ISystemTools
{
    public const int NotInstalled = 127;

    public async Task<ChildResult> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken ct)
    {
        try
        {
            return await ChildProcess.RunAsync(tool, args, ct);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return new ChildResult(NotInstalled, "", $"{tool} is not installed on this server");
        }
    }
}
