using System.CommandLine;
using System.Net;
using Ferry.Cli.Cli;
using Ferry.Receiver.Hosting;
using Ferry.Transfer.Control;
using Serilog;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry receiver --out DIR --token TOKEN</c>: serve the control (8080) and data (8703) channels.</summary>
internal static class ReceiverCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "Address to listen on.", DefaultValueFactory = _ => "0.0.0.0" };
        var controlPort = new Option<int>("--control-port") { Description = "gRPC control port.", DefaultValueFactory = _ => ReceiverOptions.DefaultControlPort };
        var dataPort = new Option<int>("--data-port") { Description = "Data port.", DefaultValueFactory = _ => ReceiverOptions.DefaultDataPort };
        var output = new Option<string>("--out") { Description = "Directory the disk images are written to.", Required = true };
        var token = new Option<string?>("--token") { Description = "Token agents must present (or --token-file, or FERRY_TOKEN)." };
        var tokenFile = new Option<string?>("--token-file") { Description = "File holding the token (keeps it off the process list)." };
        var tls = new Option<string>("--tls")
        {
            Description = "Data channel: auto (cleartext only from this machine), on (TLS always), off (cleartext allowed: a private network).",
            DefaultValueFactory = _ => "auto",
        };
        var command = new Command("receiver", "Receive disks from agents and write them as images.")
        {
            listen, controlPort, dataPort, output, token, tokenFile, tls,
        };
        command.SetAction(async (parse, ct) =>
        {
            var secret = parse.GetValue(token)
                ?? (parse.GetValue(tokenFile) is { } file ? File.ReadAllText(file).Trim() : null)
                ?? Environment.GetEnvironmentVariable("FERRY_TOKEN");
            if (string.IsNullOrWhiteSpace(secret))
            {
                Console.Error.WriteLine("error E_USAGE: no token given; pass --token, --token-file or set FERRY_TOKEN");
                return 2;
            }
            if (!TransportSecurityText.TryParse(parse.GetValue(tls), out var security))
            {
                Console.Error.WriteLine($"error E_USAGE: --tls {parse.GetValue(tls)}: expected auto, on or off");
                return 2;
            }
            if (!IPAddress.TryParse(parse.GetValue(listen), out var address))
            {
                Console.Error.WriteLine($"error E_USAGE: --listen {parse.GetValue(listen)} is not an IP address");
                return 2;
            }
            var options = new ReceiverOptions
            {
                ListenAddress = address,
                ControlPort = parse.GetValue(controlPort),
                DataPort = parse.GetValue(dataPort),
                OutputDirectory = Path.GetFullPath(parse.GetValue(output)!),
                Token = TokenCheck.FromToken(secret, security),
            };
            await using var logger = OperatorLog.Create();
            await using var host = await ReceiverHost.StartAsync(options, l => l.AddSerilog(logger), ct);
            logger.Information("Receiver ready: control {Control}, data {Data}, images in {Out}", host.ControlEndpoint, host.DataEndpoint, options.OutputDirectory);
            // Agents pin this (agent migrate --receiver-fingerprint); it is public, not a secret.
            logger.Information("Receiver certificate SHA-256 fingerprint: {Fingerprint:l}", host.Fingerprint);
            // Returns on SIGTERM/SIGINT (the host's console lifetime) or when the command is cancelled.
            await host.WaitForShutdownAsync(ct);
            logger.Information("Receiver stopped");
            return 0;
        });
        return command;
    }
}
