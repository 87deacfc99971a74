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
