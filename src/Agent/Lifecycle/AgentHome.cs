using System.Globalization;
using System.Text.Json;
using Ferry.Disks.Interop;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// The agent's directory (the folder it was unpacked into): client_data, the pid file of the
/// background agent, user_config.json and Logs/.
/// </summary>
public sealed class AgentHome(string directory)
{
    public static AgentHome Current => new(Environment.GetEnvironmentVariable("FERRY_AGENT_HOME") ?? AppContext.BaseDirectory);

    public string Directory { get; } = directory.Length > 1 ? directory.TrimEnd('/') : directory;

    public string ClientDataPath => Path.Combine(Directory, "client_data");

    public string PidPath => Path.Combine(Directory, "agent.pid");

    /// <summary>The default excludes of file replication (shipped in the package; built-in defaults when missing).</summary>
    public string ExcludesPath => Path.Combine(Directory, "Excludes", "rsync_excludes_linux.txt");

    public ClientData? Load()
    {
        try
        {
            return File.Exists(ClientDataPath)
                ? JsonSerializer.Deserialize(File.ReadAllText(ClientDataPath), AgentJsonContext.Default.ClientData)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Save(ClientData data) => PrivateFile.Write(ClientDataPath, JsonSerializer.Serialize(data, AgentJsonContext.Default.ClientData));

    /// <summary>The background agent's pid, when one runs.</summary>
    public int? RunningPid()
    {
        if (!File.Exists(PidPath) || !int.TryParse(File.ReadAllText(PidPath).Trim(), CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }
        return Posix.IsAlive(pid) && pid != Environment.ProcessId ? pid : null;
    }

    public void WritePid() => PrivateFile.Write(PidPath, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");

    /// <summary>Stops the background agent (SIGTERM, then SIGKILL after 10 s); true when one was running.</summary>
    public async Task<bool> StopBackgroundAsync()
    {
        if (RunningPid() is not { } pid)
        {
            return false;
        }
        Posix.Signal(pid, Posix.SigTerm);
        for (var i = 0; i < 100 && Posix.IsAlive(pid); i++)
        {
            await Task.Delay(100);
        }
        if (Posix.IsAlive(pid))
        {
            Posix.Signal(pid, Posix.SigKill);
        }
        File.Delete(PidPath);
        return true;
    }
}
