using System.Net;
using System.Net.Sockets;
using Ferry.Receiver.Hosting;
using Ferry.Receiver.Sessions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Channels;

/// <summary>Accepts data connections on port 8703 and hands each to a <see cref="DataConnectionHandler"/>.</summary>
public sealed class DataChannelServer : BackgroundService
{
    private readonly TcpListener _listener;
    private readonly DataConnectionHandler _handler;

    public DataChannelServer(ReceiverOptions options, SessionRegistry sessions, ILogger<DataChannelServer> logger)
    {
        _listener = new TcpListener(options.ListenAddress, options.DataPort);
        // SO_REUSEADDR alone (as Kestrel does): a restarted receiver can bind despite TIME_WAIT connections.
        // .NET's ReuseAddress option would also set SO_REUSEPORT, letting a second receiver share the port unnoticed.
        const int solSocket = 1, soReuseAddr = 2;
        _listener.Server.SetRawSocketOption(solSocket, soReuseAddr, BitConverter.GetBytes(1));
        _listener.Start(backlog: 64);
        _handler = new DataConnectionHandler(sessions, options.HelloTimeout, logger);
    }

    /// <summary>The bound endpoint (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connections = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(stoppingToken);
                socket.NoDelay = true;
                socket.ReceiveBufferSize = 4 << 20;
                var remote = socket.RemoteEndPoint?.ToString() ?? "?";
                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(Task.Run(async () =>
                {
                    await using var stream = new NetworkStream(socket, ownsSocket: true);
                    await _handler.HandleAsync(stream, remote, stoppingToken);
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _listener.Stop();
            await Task.WhenAll(connections);
        }
    }
}
