using System.Diagnostics;
using Ferry.Transfer.Errors;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// Installs the systemd unit shipped in the agent package (ferry-agent.service), pointed at the
/// directory the agent actually lives in, so the background agent survives a reboot of the source.
/// </summary>
public static class ServiceUnit
{
    public const string Target = "/etc/systemd/system/ferry-agent.service";
    private const string PackagedDirectory = "/opt/ferry-agent";

    public static string Install(AgentHome home)
    {
        var template = Path.Combine(home.Directory, "ferry-agent.service");
        if (!File.Exists(template))
        {
            throw new FerryException(ErrorCode.Usage, $"{template} is missing", "Unpack the whole agent package (agent-linux-x64.tar.gz) again.");
        }
        if (!Directory.Exists(Path.GetDirectoryName(Target)))
        {
            throw new FerryException(ErrorCode.Usage, "this system does not use systemd (/etc/systemd/system is missing)",
                "Start the agent from your init system with: ./agent run");
        }
        var directory = home.Directory.TrimEnd('/');
        File.WriteAllText(Target, File.ReadAllText(template).Replace(PackagedDirectory, directory, StringComparison.Ordinal));
        foreach (var args in new[] { "daemon-reload", "enable ferry-agent.service" })
        {
            using var systemctl = Process.Start("systemctl", args.Split(' '));
            systemctl?.WaitForExit();
        }
        return Target;
    }
}
