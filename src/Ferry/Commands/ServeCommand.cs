using System.CommandLine;
using System.Net;
using Ferry.Cli.Cli;
using Ferry.Control.Hosting;
using Ferry.Receiver.Hosting;
using Serilog;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry serve --data-dir DIR [--with-receiver]</c>: the control plane (and optionally a receiver) in one process.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Where the database, secrets and admin-token live.", Required = true };
        var listen = new Option<string>("--listen") { Description = "Address to listen on.", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--port") { Description = "REST API, agent API and downloads.", DefaultValueFactory = _ => ControlPlaneOptions.DefaultPort };
        var agentPort = new Option<int>("--agent-port") { Description = "Agent API (gRPC).", DefaultValueFactory = _ => ControlPlaneOptions.DefaultAgentPort };
        var withReceiver = new Option<bool>("--with-receiver") { Description = "Also host a receiver (images under DATA_DIR/images)." };
        var receiverControl = new Option<int>("--receiver-control-port") { DefaultValueFactory = _ => ReceiverOptions.DefaultControlPort };
        var receiverData = new Option<int>("--receiver-data-port") { DefaultValueFactory = _ => ReceiverOptions.DefaultDataPort };
        var publicUrl = new Option<string?>("--public-url") { Description = "The URL agents reach this server at (default: as each request came in)." };
        var package = new Option<string?>("--package") { Description = "The agent package to serve (default: beside this executable)." };
        var heartbeat = new Option<int>("--heartbeat-seconds") { Description = "Agents' heartbeat period.", DefaultValueFactory = _ => 30 };
        var command = new Command("serve", "Run the control plane: activation codes, sources, jobs.")
        {
            dataDir, listen, port, agentPort, withReceiver, receiverControl, receiverData, publicUrl, package, heartbeat,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (!IPAddress.TryParse(parse.GetValue(listen), out var address))
            {
                Console.Error.WriteLine($"error E_USAGE: --listen {parse.GetValue(listen)} is not an IP address");
                return 2;
            }
            var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
            await using var logger = OperatorLog.Create();

            ReceiverHost? receiver = null;
            ReceiverLink? link = null;
            if (parse.GetValue(withReceiver))
            {
                var tokens = TokenCheck.Empty();
                var images = Path.Combine(dir, "images");
                receiver = await ReceiverHost.StartAsync(new ReceiverOptions
                {
                    ListenAddress = address,
                    ControlPort = parse.GetValue(receiverControl),
                    DataPort = parse.GetValue(receiverData),
                    OutputDirectory = images,
                    Token = tokens,
                }, l => l.AddSerilog(logger), ct);
                link = new ReceiverLink("", receiver.ControlEndpoint.Port, receiver.DataEndpoint.Port, receiver.Fingerprint, tokens.Allow, tokens.Revoke,
                    source => Receiver.Images.CycleStore.DiscardWork(Path.Combine(images, source)));
            }
            try
            {
                await using var host = await ControlPlaneHost.StartAsync(new ControlPlaneOptions
                {
                    DataDirectory = dir,
                    ListenAddress = address,
                    Port = parse.GetValue(port),
                    AgentPort = parse.GetValue(agentPort),
                    PublicUrl = parse.GetValue(publicUrl)?.TrimEnd('/'),
                    PackagePath = parse.GetValue(package),
                    HeartbeatInterval = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(heartbeat))),
                }, link, l => l.AddSerilog(logger), ct);
                logger.Information("Control plane ready on {Endpoint} (agent API {AgentEndpoint}); data in {Dir}; operator token in {TokenFile}{Receiver}", host.Endpoint, host.AgentEndpoint, dir,
                    Path.Combine(dir, ControlPlaneHost.AdminTokenFile),
                    receiver is null ? "" : $"; receiver on control {receiver.ControlEndpoint.Port}, data {receiver.DataEndpoint.Port}");
                // Public, not a secret: the activation command carries it for agents to pin.
                logger.Information("Agent API certificate SHA-256 fingerprint: {Fingerprint:l}", host.Fingerprint);
                await host.WaitForShutdownAsync(ct);
            }
            finally
            {
                if (receiver is not null)
                {
                    await receiver.DisposeAsync();
                }
            }
            return 0;
        });
        return command;
    }
}
