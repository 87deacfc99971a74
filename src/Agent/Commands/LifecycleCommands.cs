using System.CommandLine;
using Ferry.Agent.Lifecycle;

namespace Ferry.Agent.Commands;

/// <summary>
/// `./agent [--code …|--accesskey-id …] [--server URL] [--yes]` imports this source; `./agent --abort`
/// stops the background agent and removes its registration; `./agent run` is the background agent.
/// </summary>
internal static class LifecycleCommands
{
    public static void AddTo(RootCommand root)
    {
        var server = new Option<string?>("--server") { Description = "Control plane URL (or FERRY_SERVER)." };
        var code = new Option<string?>("--code") { Description = "Activation code at-ID:SECRET (or FERRY_CODE)." };
        var fingerprint = new Option<string?>("--server-fingerprint") { Description = "SHA-256 of the control plane's certificate, as the activation command gives it (or FERRY_SERVER_FINGERPRINT)." };
        var keyId = new Option<string?>("--accesskey-id") { Description = "AccessKey id (or FERRY_ACCESSKEY_ID)." };
        var keySecret = new Option<string?>("--accesskey-secret") { Description = "AccessKey secret (or FERRY_ACCESSKEY_SECRET)." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Answer yes to every question (unattended install)." };
        var abort = new Option<bool>("--abort") { Description = "Stop the background agent and remove its registration state." };
        var includeLoop = new Option<bool>("--include-loop") { Description = "Register loop devices as disks too." };
        var installService = new Option<bool>("--install-service") { Description = "Install a systemd unit so the agent survives a reboot." };
        foreach (var o in new Option[] { server, fingerprint, code, keyId, keySecret, yes, abort, includeLoop, installService })
        {
            root.Options.Add(o);
        }

        root.SetAction(async (parse, ct) =>
        {
            var home = AgentHome.Current;
            if (parse.GetValue(abort))
            {
                var stopped = await home.StopBackgroundAsync();
                File.Delete(home.ClientDataPath);
                Console.WriteLine(stopped ? "The background agent was stopped and its registration state removed." : "No background agent was running; registration state removed.");
                return ExitCodes.Ok;
            }
            if (parse.GetValue(installService))
            {
                Console.WriteLine("Installed " + ServiceUnit.Install(home));
                return ExitCodes.Ok;
            }
            var options = new ActivationOptions
            {
                Server = parse.GetValue(server),
                ServerFingerprint = parse.GetValue(fingerprint),
                Code = parse.GetValue(code),
                AccessKeyId = parse.GetValue(keyId),
                AccessKeySecret = parse.GetValue(keySecret),
                Yes = parse.GetValue(yes),
                IncludeLoop = parse.GetValue(includeLoop),
            };
            await new Activation(options, home, Console.In, Console.Out, !Console.IsInputRedirected).RunAsync(ct);
            return ExitCodes.Ok;
        });

        var run = new Command("run", "Run as the background agent (started by ./agent; also by the systemd unit).");
        run.SetAction(async (_, ct) =>
        {
            using var log = AgentLog.Create(verbose: false, console: false);
            return await new Daemon(AgentHome.Current, log).RunAsync(ct);
        });
        root.Subcommands.Add(run);
    }
}
