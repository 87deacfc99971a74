using System.Net.Sockets;
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

    public ReceiverClient(string host, int port, string token)
    {
        _address = $"{host}:{port}";
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), EnableMultipleHttp2Connections = false };
        _channel = GrpcChannel.ForAddress(new UriBuilder("http", host, port).Uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 16 << 20,
        });
        _client = new ReceiverControl.ReceiverControlClient(_channel);
        _headers = new Metadata { { ControlMetadata.Authorization, "Bearer " + token } };
    }

    public Task<OpenSessionReply> OpenSessionAsync(OpenSessionRequest request, CancellationToken ct) =>
        CallAsync(() => _client.OpenSessionAsync(request, _headers, DateTime.UtcNow.AddMinutes(2), ct).ResponseAsync);

    public Task<VerifyReply> VerifyAsync(VerifyRequest request, CancellationToken ct) =>
        CallAsync(() => _client.VerifyAsync(request, _headers, DateTime.UtcNow.AddMinutes(30), ct).ResponseAsync);

    public Task<FinishSessionReply> FinishAsync(FinishSessionRequest request, CancellationToken ct) =>
        CallAsync(() => _client.FinishSessionAsync(request, _headers, DateTime.UtcNow.AddMinutes(10), ct).ResponseAsync);

    private async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e)
        {
            var named = e.Trailers.GetValue(ControlMetadata.ErrorCode);
            if (named is not null)
            {
                var code = ErrorCodes.Parse(named);
                throw new FerryException(code, e.Status.Detail, Hint(code), e);
            }
            if (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                throw Unreachable(e.Status.Detail, e);
            }
            if (e.StatusCode == StatusCode.Unauthenticated)
            {
                throw new FerryException(ErrorCode.AuthFailed, e.Status.Detail, Hint(ErrorCode.AuthFailed), e);
            }
            throw new FerryException(ErrorCode.Protocol, $"the receiver at {_address} answered {e.StatusCode}: {e.Status.Detail}", null, e);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException)
        {
            throw Unreachable(e.Message, e);
        }
    }

    private FerryException Unreachable(string detail, Exception inner) => new(ErrorCode.ReceiverUnreachable,
        $"cannot reach the receiver's control channel at {_address}: {detail}",
        $"Check that `ferry receiver` runs there and that TCP ports {_address.Split(':')[^1]} (control) and the data port are open from this server.", inner);

    private static string? Hint(ErrorCode code) => code switch
    {
        ErrorCode.AuthFailed => "Use the token the receiver was started with (ferry receiver --token).",
        ErrorCode.TargetTooSmall => "Free space on the receiver, or point it at a larger --out directory or disk.",
        _ => null,
    };

    public void Dispose() => _channel.Dispose();
}
