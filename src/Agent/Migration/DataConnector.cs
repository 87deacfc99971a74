using System.Net.Sockets;
using Ferry.Transfer.Errors;

namespace Ferry.Agent.Migration;

/// <summary>Opens TCP connections to the receiver's data channel (port 8703 by default).</summary>
public static class DataConnector
{
    public static async Task<Stream> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = 4 << 20 };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(host, port, timeout.Token);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FerryException(ErrorCode.ReceiverUnreachable, $"cannot reach the receiver's data channel at {host}:{port}: {e.Message}",
                $"Check that TCP port {port} on the receiver is open from this server.", e);
        }
    }
}
