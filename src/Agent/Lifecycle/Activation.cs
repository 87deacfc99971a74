using System.Diagnostics;
using System.Text.Json;
using Ferry.Agent.Inventory;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;

namespace Ferry.Agent.Lifecycle;

/// <summary>
/// `./agent`: ask for (or take) the credentials, run the pre-checks, ask before changing anything,
/// register the source with its inventory, and leave the agent running in the background.
/// </summary>
public sealed class Activation(ActivationOptions options, AgentHome home, TextReader input, TextWriter output, bool interactive)
{
    public async Task<string> RunAsync(CancellationToken ct)
    {
        var server = (options.Server ?? Environment.GetEnvironmentVariable("FERRY_SERVER") ?? home.Load()?.Server
            ?? Ask("Control plane URL (for example http://203.0.113.5:8090)")).TrimEnd('/');
        var code = options.Code ?? Environment.GetEnvironmentVariable("FERRY_CODE");
        var pinText = options.ServerFingerprint ?? Environment.GetEnvironmentVariable("FERRY_SERVER_FINGERPRINT")
            ?? (home.Load() is { } known && known.Server == server ? known.ServerFingerprint : null);
        var keyId = options.AccessKeyId ?? Environment.GetEnvironmentVariable("FERRY_ACCESSKEY_ID");
        var keySecret = options.AccessKeySecret ?? Environment.GetEnvironmentVariable("FERRY_ACCESSKEY_SECRET");
        if (code is null && keyId is null && home.Load() is { } registered && registered.Server == server)
        {
            // Already imported: start the background agent again with the same source and credential.
            await PreChecks.RunAsync(server, home, output, ct);
            await home.StopBackgroundAsync();
            var running = await StartBackgroundAsync(ct);
            output.WriteLine($"Source Server [{registered.SourceId}] is imported already; the agent runs again in the background (pid {running}).");
            return registered.SourceId;
        }
        if (code is null && keyId is null)
        {
            var answer = Ask("Activation code (at-…:SECRET) or AccessKey id (ak-…)");
            if (answer.StartsWith("ak-", StringComparison.Ordinal))
            {
                keyId = answer;
            }
            else
            {
                code = answer;
            }
        }
        if (keyId is not null && keySecret is null)
        {
            keySecret = Ask("AccessKey secret", secret: true);
        }
        string? codeId = null, codeSecret = null;
        if (code is not null)
        {
            var colon = code.IndexOf(':', StringComparison.Ordinal);
            if (!code.StartsWith("at-", StringComparison.Ordinal) || colon < 0)
            {
                throw new FerryException(ErrorCode.Usage, "an activation code looks like at-ID:SECRET", "Paste the whole code printed by `ferry code create`.");
            }
            (codeId, codeSecret) = (code[..colon], code[(colon + 1)..]);
        }

        var pin = CertificatePin.TryParse(pinText ?? Ask("Control plane certificate fingerprint (64 hex digits, from the activation command)"))
            ?? throw new FerryException(ErrorCode.Usage, "the control plane's certificate fingerprint is not 64 hex digits",
                "Pass --server-fingerprint as the activation command printed by `ferry code create` gives it.");
        var info = await PreChecks.RunAsync(server, home, output, ct);
        if (!options.Yes && !Confirm($"Register {Environment.MachineName} with {server} and keep the agent running in the background from {home.Directory}?"))
        {
            throw new FerryException(ErrorCode.Usage, "not confirmed: nothing was changed", "Answer y, or pass --yes for an unattended install.");
        }

        var inventory = InventoryCollector.Collect(options.IncludeLoop, [], w => output.WriteLine("[WARN] " + w));
        var request = new RegisterRequest
        {
            Identity = MachineIdentity.Compute(),
            Hostname = inventory.Hostname,
            AgentVersion = typeof(Activation).Assembly.GetName().Version?.ToString() ?? "0",
            InventoryJson = JsonSerializer.Serialize(inventory, AgentJsonContext.Default.SystemInventory),
        };
        using var client = new ControlClient(server, info.GrpcPort, pin);
        RegisterReply reply;
        if (codeId is not null)
        {
            request.CodeId = codeId;
            request.CodeSecret = codeSecret!;
            reply = await client.RegisterWithCodeAsync(request, ct);
        }
        else
        {
            reply = await client.RegisterWithAccessKeyAsync(request, keyId!, keySecret!, ct);
        }

        await home.StopBackgroundAsync();
        home.Save(new ClientData(server, info.GrpcPort, reply.SourceId, reply.AgentToken, request.Identity, (int)Math.Max(1, reply.HeartbeatSeconds), pin.Fingerprint));
        output.WriteLine($"Import Source Server [{reply.SourceId}] Successfully!");
        var pid = await StartBackgroundAsync(ct);
        output.WriteLine($"The agent runs in the background (pid {pid}); logs in {Path.Combine(home.Directory, "Logs")}. Stop it with ./agent --abort.");
        return reply.SourceId;
    }

    /// <summary>Starts `agent run` detached (it calls setsid itself) and waits for its pid file.</summary>
    private async Task<int> StartBackgroundAsync(CancellationToken ct)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath ?? Path.Combine(home.Directory, "agent"))
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = home.Directory,
        };
        psi.ArgumentList.Add("run");
        psi.Environment.Remove("FERRY_CODE");
        psi.Environment.Remove("FERRY_ACCESSKEY_SECRET");
        using var child = Process.Start(psi) ?? throw new FerryException(ErrorCode.Internal, "cannot start the background agent");
        for (var i = 0; i < 100; i++)
        {
            if (home.RunningPid() is { } pid)
            {
                return pid;
            }
            if (child.HasExited)
            {
                throw new FerryException(ErrorCode.Internal, $"the background agent exited at once (code {child.ExitCode})", "See the log under Logs/.");
            }
            await Task.Delay(100, ct);
        }
        throw new FerryException(ErrorCode.Internal, "the background agent did not start within 10 s", "See the log under Logs/.");
    }

    /// <param name="secret">Do not echo what is typed.</param>
    private string Ask(string question, bool secret = false)
    {
        if (!interactive)
        {
            throw new FerryException(ErrorCode.Usage, $"missing: {question.ToLowerInvariant()}",
                "Pass --server and --code (or --accesskey-id and --accesskey-secret) for an unattended install.");
        }
        output.Write(question + ": ");
        var answer = (secret ? ReadHidden() : input.ReadLine())?.Trim();
        return string.IsNullOrEmpty(answer) ? throw new FerryException(ErrorCode.Usage, "no answer given: nothing was changed") : answer;
    }

    private string ReadHidden()
    {
        var typed = new System.Text.StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && typed.Length > 0)
            {
                typed.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }
        output.WriteLine();
        return typed.ToString();
    }

    private bool Confirm(string question)
    {
        if (!interactive)
        {
            return false;
        }
        output.Write(question + " [y/N] ");
        return input.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
    }
}
