namespace Ferry.Tests.Integration;

/// <summary>The published native agent (artifacts/agent/agent, built by `make publish`), run as a user would run it.</summary>
internal static class AgentBinary
{
    public static string Path
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("FERRY_AGENT_BIN");
            var path = fromEnv ?? System.IO.Path.Combine(RepoRoot(), "artifacts", "agent", "agent");
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"the published native agent is missing at {path}: run `make publish` (make test does)");
            }
            return path;
        }
    }

    public static Sh.Result Run(params string[] args) => Sh.Run(Path, args, null, TimeSpan.FromMinutes(10));

    /// <summary>Starts the agent in the background (to be killed, or waited for); its standard error is read from the start (the task ends with the process).</summary>
    /// <param name="home">FERRY_AGENT_HOME: where its breakpoints and logs go.</param>
    public static (System.Diagnostics.Process Agent, Task<string> Stderr) Start(string[] args, string? home = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (home is not null)
        {
            psi.Environment["FERRY_AGENT_HOME"] = home;
        }
        var agent = System.Diagnostics.Process.Start(psi)!;
        // Nobody reads standard output (progress); drain it so that the agent never blocks on a full pipe.
        _ = agent.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        return (agent, agent.StandardError.ReadToEndAsync());
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Agent.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the repository root (Agent.sln) above " + AppContext.BaseDirectory);
    }
}
