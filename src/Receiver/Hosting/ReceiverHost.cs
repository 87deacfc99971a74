using System.Net;
using Ferry.Receiver.Channels;
using Ferry.Receiver.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Hosting;

/// <summary>
/// A running receiver: Kestrel serving the gRPC control channel over HTTP/2 and the raw TCP data
/// channel, in one process. Used by <c>ferry receiver</c> and by tests, which ask for port 0.
/// </summary>
public sealed class ReceiverHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ReceiverHost(WebApplication app, IPEndPoint control, IPEndPoint data, string fingerprint)
    {
        _app = app;
        ControlEndpoint = control;
        DataEndpoint = data;
        Fingerprint = fingerprint;
    }

    /// <summary>The SHA-256 of the receiver's certificate, which agents pin (<c>--receiver-fingerprint</c>).</summary>
    public string Fingerprint { get; }

    public IPEndPoint ControlEndpoint { get; }

    public IPEndPoint DataEndpoint { get; }

    public static async Task<ReceiverHost> StartAsync(ReceiverOptions options, Action<ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var certificate = Transfer.Control.SelfSignedCertificate.LoadOrCreate(options.CertificatePath ?? Path.Combine(options.OutputDirectory, ".ferry-receiver.pfx"), "ferry-receiver");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(certificate);
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton<DataChannelServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DataChannelServer>());
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 << 20);
        builder.WebHost.ConfigureKestrel(k =>
        {
            // The control channel carries the token: always TLS (1.2 at least), whatever the data channel does.
            k.Listen(options.ListenAddress, options.ControlPort, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.UseHttps(certificate, https => https.SslProtocols = Transfer.Control.CertificatePin.Protocols);
            });
            k.Limits.Http2.MaxStreamsPerConnection = 16;
        });

        var app = builder.Build();
        app.MapGrpcService<ReceiverControlService>();
        await app.StartAsync(cancellationToken);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var control = new IPEndPoint(options.ListenAddress, new Uri(address).Port);
        var data = app.Services.GetRequiredService<DataChannelServer>().LocalEndpoint;
        return new ReceiverHost(app, control, data, Transfer.Control.CertificatePin.Of(certificate));
    }

    /// <summary>Waits until the process is asked to stop (SIGTERM, SIGINT) or <paramref name="cancellationToken"/> fires, then stops.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
