using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Ferry.Agent.Lifecycle;

/// <summary>The agent's client of the control plane: discovery over HTTP, then the agent API over gRPC.</summary>
public sealed class ControlClient : IDisposable
{
    private const string UnreachableHint = "Check the --server address and that TCP ports of `ferry serve` (REST and agent API) are open from this server.";
    private readonly GrpcChannel _channel;
    private readonly AgentControl.AgentControlClient _client;
    private readonly string _address;
    private readonly CertificatePin _pin;
    private Metadata _headers = [];

    /// <summary>The agent API is TLS; only the certificate with the pinned fingerprint is accepted.</summary>
    public ControlClient(string server, int agentPort, CertificatePin pin)
    {
        var uri = new Uri(server);
        _address = $"{uri.Host}:{agentPort}";
        _pin = pin;
        _channel = GrpcChannel.ForAddress(new UriBuilder("https", uri.Host, agentPort).Uri, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = pin.ClientOptions(uri.Host),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            },
        });
        _client = new AgentControl.AgentControlClient(_channel);
    }

    /// <summary>Asks GET /api/agent whether this is Ferry and where its agent API is; also returns the server's clock.</summary>
    public static async Task<(ServerInfo Info, DateTimeOffset? ServerTime)> DiscoverAsync(string server, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(new Uri(new Uri(server.TrimEnd('/') + "/"), "api/agent"), ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException && !ct.IsCancellationRequested)
        {
            throw new FerryException(ErrorCode.ControlUnreachable, $"cannot reach the control plane at {server}: {e.Message}", UnreachableHint, e);
        }
        using (response)
        {
            ServerInfo? info = null;
            try
            {
                info = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync(AgentJsonContext.Default.ServerInfo, ct) : null;
            }
            catch (JsonException)
            {
            }
            if (info is not { Service: "ferry" } || info.GrpcPort is < 1 or > 65535)
            {
                throw new FerryException(ErrorCode.NotFerry, $"{server} answered (HTTP {(int)response.StatusCode}), but not as a Ferry control plane",
                    "Check the --server address: it must be the URL of `ferry serve`.");
            }
            return (info, response.Headers.Date);
        }
    }

    public void UseAgentToken(string token) => _headers = new Metadata { { ControlMetadata.Authorization, ControlMetadata.Bearer(token) } };

    public Task<RegisterReply> RegisterWithCodeAsync(RegisterRequest request, CancellationToken ct) =>
        Call(() => _client.RegisterAsync(request, null, DateTime.UtcNow.AddMinutes(1), ct).ResponseAsync);

    /// <summary>Registers with an AccessKey: the request is signed, the secret never sent.</summary>
    public Task<RegisterReply> RegisterWithAccessKeyAsync(RegisterRequest request, string keyId, string secret, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var signature = RequestSignature.Sign(secret, "POST", "/ferry.control.v1.AgentControl/Register", now, request.ToByteArray());
        var headers = new Metadata
        {
            { RequestSignature.KeyIdHeader, keyId },
            { RequestSignature.TimestampHeader, now.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            { RequestSignature.SignatureHeader, signature },
        };
        return Call(() => _client.RegisterAsync(request, headers, DateTime.UtcNow.AddMinutes(1), ct).ResponseAsync);
    }

    public Task<HeartbeatReply> HeartbeatAsync(HeartbeatRequest request, CancellationToken ct) =>
        Call(() => _client.HeartbeatAsync(request, _headers, DateTime.UtcNow.AddSeconds(20), ct).ResponseAsync);

    public Task<JobReportReply> ReportAsync(JobReport report, CancellationToken ct) =>
        Call(() => _client.ReportJobAsync(report, _headers, DateTime.UtcNow.AddSeconds(20), ct).ResponseAsync);

    /// <summary>The job stream: the current job, then each change to it.</summary>
    public async IAsyncEnumerable<JobAssignment> WatchJobsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var call = _client.WatchJobs(new WatchJobsRequest(), _headers, cancellationToken: ct);
        while (await Call(() => call.ResponseStream.MoveNext(ct)))
        {
            yield return call.ResponseStream.Current;
        }
    }

    private async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await GrpcFailures.CallAsync(call, "control plane's agent API", _address, ErrorCode.ControlUnreachable, UnreachableHint);
        }
        catch (FerryException) when (_pin.MismatchError($"the control plane at {_address}",
            "Use the activation command exactly as `ferry code create` printed it.") is { } mismatch)
        {
            throw mismatch;
        }
    }

    public void Dispose() => _channel.Dispose();
}
