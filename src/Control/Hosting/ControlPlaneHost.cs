using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Control.Api;
using Ferry.Control.Jobs;
using Ferry.Control.Security;
using Ferry.Control.Store;
using Ferry.Disks.Interop;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ferry.Control.Hosting;

/// <summary>
/// A running control plane: the REST API and the install endpoints on one port (HTTP/1.1), the
/// agent API on another (gRPC over HTTP/2 and TLS with the control plane's own certificate, which
/// agents pin: its fingerprint is in the activation command; announced at GET /api/agent); the SQLite
/// store and secrets in the data directory; the admin token created on first start.
/// </summary>
public sealed class ControlPlaneHost : IAsyncDisposable
{
    public const string AdminTokenSetting = "admin_token_hash";
    public const string AdminTokenFile = "admin-token";

    private readonly WebApplication _app;

    private ControlPlaneHost(WebApplication app, ControlPlane plane, IPEndPoint endpoint, IPEndPoint agentEndpoint, string fingerprint)
    {
        _app = app;
        Plane = plane;
        Endpoint = endpoint;
        AgentEndpoint = agentEndpoint;
        Fingerprint = fingerprint;
    }

    /// <summary>SHA-256 of the agent API's certificate (DATA_DIR/agent-api.pfx), which agents pin.</summary>
    public string Fingerprint { get; }

    public ControlPlane Plane { get; }

    public IPEndPoint Endpoint { get; }

    public IPEndPoint AgentEndpoint { get; }

    public string Url => $"http://{Endpoint}";

    public static async Task<ControlPlaneHost> StartAsync(ControlPlaneOptions options, ReceiverLink? receiver, Action<ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.DataDirectory);
        File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        IControlStore store = new SqliteControlStore(Path.Combine(options.DataDirectory, "ferry.db"));
        EnsureAdminToken(store, options.DataDirectory);
        var plane = new ControlPlane(store, SecretBox.OpenOrCreate(Path.Combine(options.DataDirectory, "secret.key")), new JobDispatcher(), receiver,
            TimeProvider.System, options.HeartbeatInterval);

        var certificate = SelfSignedCertificate.LoadOrCreate(Path.Combine(options.DataDirectory, "agent-api.pfx"), "ferry-control-plane");
        var fingerprint = CertificatePin.Of(certificate);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.AddSingleton(plane);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<OfflineMonitor>();
        builder.Services.AddHostedService<CycleScheduler>();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 8 << 20);
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            o.SerializerOptions.TypeInfoResolverChain.Add(new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver());
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.ListenAddress, options.Port, l => l.Protocols = HttpProtocols.Http1);
            // Agent tokens and activation secrets travel here: TLS (1.2 at least) with a certificate agents pin.
            k.Listen(options.ListenAddress, options.AgentPort, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.UseHttps(certificate, https => https.SslProtocols = CertificatePin.Protocols);
            });
        });

        var app = builder.Build();
        app.Use(ErrorsAsJson);
        var agentPort = 0;
        app.MapGrpcService<AgentApiService>();
        app.MapGet("/api/agent", () => new AgentEndpointInfo("ferry", typeof(ControlPlaneHost).Assembly.GetName().Version?.ToString() ?? "0", agentPort));
        app.MapOpenApi();
        RestApi.Map(app, plane, options with { PackagePath = options.PackagePath ?? Path.Combine(AppContext.BaseDirectory, InstallScript.PackageName) }, fingerprint);
        await app.StartAsync(cancellationToken);

        // Kestrel reports the bound addresses in the order they were configured: REST first, agent API second.
        var ports = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a).Port).ToList();
        agentPort = ports[1];
        return new ControlPlaneHost(app, plane, new IPEndPoint(options.ListenAddress, ports[0]), new IPEndPoint(options.ListenAddress, ports[1]), fingerprint);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>The operator API token: made once, written to DIR/admin-token (0600), stored only as a hash.</summary>
    private static void EnsureAdminToken(IControlStore store, string dataDirectory)
    {
        if (store.GetSetting(AdminTokenSetting) is not null)
        {
            return;
        }
        var token = Secrets.NewSecret();
        PrivateFile.Write(Path.Combine(dataDirectory, AdminTokenFile), token + "\n");
        store.SetSetting(AdminTokenSetting, Secrets.Hash(token));
    }

    /// <summary>Refusals become JSON bodies with the stable code; malformed JSON is a 400, not a 500.</summary>
    private static async Task ErrorsAsJson(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (ControlException e) when (!context.Response.HasStarted)
        {
            context.Response.StatusCode = RestApi.StatusFor(e.Code);
            await context.Response.WriteAsJsonAsync(new ApiError(ErrorCodes.Name(e.Code), e.Message, e.Hint));
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new ApiError(ErrorCodes.Name(ErrorCode.InvalidRequest), e.Message, null));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
