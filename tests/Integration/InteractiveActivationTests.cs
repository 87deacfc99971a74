using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>`sudo ./agent` with no options, on a terminal: it asks for the server, the code and a confirmation.</summary>
[Collection("loop devices")]
public sealed class InteractiveActivationTests
{
    [Fact]
    public void Agent_WithoutOptionsOnATerminal_PromptsThenImports()
    {
        Requires.Tool("script");
        using var dir = new TempDir();
        using var serve = ServeProcess.Start(dir["serve"]);
        var command = System.Text.Json.JsonDocument.Parse(serve.Cli("code", "create", "--json")).RootElement.GetProperty("command").GetString()!;
        var code = command.Split("--code ")[1].Split(' ')[0];
        Directory.CreateDirectory(dir["home"]);
        try
        {
            // script(1) gives the agent a terminal; the answers are typed ahead.
            var run = Sh.Run("script", ["-qec", AgentBinary.Path, "/dev/null"], $"{serve.Url}\n{code}\n{serve.Fingerprint}\ny\n", TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["FERRY_AGENT_HOME"] = dir["home"] });

            Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
            Assert.Contains("Control plane URL", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("Activation code (at-…:SECRET) or AccessKey id", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("certificate fingerprint", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("[y/N]", run.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"Import Source Server \[s-[0-9a-f]{16}\] Successfully!", run.Stdout);
        }
        finally
        {
            Sh.Run(AgentBinary.Path, ["--abort"], null, TimeSpan.FromMinutes(1), new Dictionary<string, string> { ["FERRY_AGENT_HOME"] = dir["home"] });
        }
    }
}
