using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Grpc.Core;
using Grpc.Net.Client;

namespace Ferry.Agent.Migration;

/// <summary>
/// The agent's end of the control channel. Every gRPC failure becomes a <see cref="FerryException"/>
/// with the receiver's stable code, or one that says the receiver could not be reached.
/// </summary>
public sealed class ReceiverClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly ReceiverControl.ReceiverControlClient _client;
    private readonly Metadata _headers;
    private readonly string _address;
    private readonly CertificatePin _pin;

    /// <summary>The control channel is TLS whatever the data channel does: it carries the token. Only the pinned certificate is accepted.</summary>
    public ReceiverClient(MigrateOptions options)
    {
        var (host, port) = (options.Receiver, options.ControlPort);
        _address = $"{host}:{port}";
        _pin = options.ReceiverPin;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = false,
            SslOptions = _pin.ClientOptions(host),
        };
        _channel = GrpcChannel.ForAddress(new UriBuilder("https", host, port).Uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 16 << 20,
        });
        _client = new ReceiverControl.ReceiverControlClient(_channel);
        _headers = new Metadata { { ControlMetadata.Authorization, ControlMetadata.Bearer(options.Token) } };
    }

    public Task<OpenSessionReply> OpenSessionAsync(OpenSessionRequest request, CancellationToken ct) =>
        CallAsync(() => _client.OpenSessionAsync(request, _headers, DateTime.UtcNow.AddMinutes(2), ct).ResponseAsync);

    public Task<DigestReply> ReadDigestAsync(DigestRequest request, CancellationToken ct) =>
        CallAsync(() => _client.ReadDigestAsync(request, _headers, DateTime.UtcNow.AddMinutes(2), ct).ResponseAsync);

    public Task<VerifyReply> VerifyAsync(VerifyRequest request, CancellationToken ct) =>
        CallAsync(() => _client.VerifyAsync(request, _headers, DateTime.UtcNow.AddMinutes(30), ct).ResponseAsync);

    /// <summary>
    /// Finishing includes the receiver's image conversion (qemu-img, a few hundred MB/s), so the
    /// deadline grows with the disks: 10 minutes plus one per 10 GiB.
    /// </summary>
    public Task<FinishSessionReply> FinishAsync(FinishSessionRequest request, long diskBytes, CancellationToken ct) =>
        CallAsync(() => _client.FinishSessionAsync(request, _headers, DateTime.UtcNow.AddMinutes(10 + (diskBytes / (10L << 30))), ct).ResponseAsync);

    public Task<FinishSessionReply> AbortAsync(FinishSessionRequest request, CancellationToken ct) =>
        CallAsync(() => _client.AbortSessionAsync(request, _headers, DateTime.UtcNow.AddMinutes(1), ct).ResponseAsync);

    /// <summary>
    /// Gives up a session after <paramref name="cause"/>; never throws, since the cause is what the user must see.
    /// <paramref name="keepPartial"/>: the receiver keeps what a file replication wrote, so a retry sends only the rest.
    /// </summary>
    public async Task AbandonAsync(Google.Protobuf.ByteString sessionId, bool keepPartial, Exception cause, Serilog.ILogger log)
    {
        log.Information("Abandoning session on the receiver after {Failure} (keeping what was sent: {Keep})", cause.GetType().Name, keepPartial);
        try
        {
            await AbortAsync(new FinishSessionRequest { SessionId = sessionId, KeepPartial = keepPartial }, CancellationToken.None);
        }
        catch (FerryException abort)
        {
            log.Warning("The receiver could not drop the session ({Code}); it does so when this source starts again", ErrorCodes.Name(abort.Code));
        }
    }

    /// <summary>What to check when the receiver's certificate is not the pinned one.</summary>
    public const string PinHint = "Compare with the fingerprint `ferry receiver` printed at start.";

    private async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await GrpcFailures.CallAsync(call, "receiver's control channel", _address, ErrorCode.ReceiverUnreachable,
                $"Check that `ferry receiver` runs there and that TCP ports {_address.Split(':')[^1]} (control) and the data port are open from this server.");
        }
        catch (FerryException) when (_pin.MismatchError($"the receiver at {_address}", PinHint) is { } mismatch)
        {
            throw mismatch;
        }
    }

    public void Dispose() => _channel.Dispose();
}
