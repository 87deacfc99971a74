using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;

namespace Ferry.Agent.Migration;

/// <summary>
/// Opens connections to the receiver's data channel (port 8703 by default): TLS accepting only the
/// pinned certificate, or cleartext with Ferry's preamble where the job allows it (see
/// <see cref="MigrateOptions.EncryptData"/>).
/// </summary>
public static class DataConnector
{
    public static async Task<Stream> ConnectAsync(MigrateOptions options, CancellationToken ct)
    {
        var (host, port) = (options.Receiver, options.DataPort);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = 4 << 20 };
        NetworkStream network;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(host, port, timeout.Token);
            network = new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FerryException(ErrorCode.ReceiverUnreachable, $"cannot reach the receiver's data channel at {host}:{port}: {e.Message}",
                $"Check that TCP port {port} on the receiver is open from this server.", e);
        }
        if (!options.EncryptData)
        {
            await network.WriteAsync(DataPreamble.Cleartext.ToArray(), ct);
            return network;
        }
        var tls = new SslStream(network, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(options.ReceiverPin.ClientOptions(host), ct);
            return tls;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await tls.DisposeAsync();
            throw options.ReceiverPin.MismatchError($"the receiver at {host}:{port}", ReceiverClient.PinHint)
                ?? new FerryException(ErrorCode.ReceiverUnreachable, $"the TLS handshake with the receiver's data channel at {host}:{port} failed: {e.Message}",
                    "Check that a Ferry receiver listens there.", e);
        }
    }
}
