using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ferry.Receiver.Hosting;
using Ferry.Receiver.Sessions;
using Ferry.Transfer.Framing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Channels;

/// <summary>
/// Accepts data connections on port 8703, sets up each one's transport (TLS with the receiver's
/// certificate, or cleartext after the agent's preamble; see <see cref="DataPreamble"/>) and hands
/// it to a <see cref="DataConnectionHandler"/>. The hello timeout covers all of it: a connection
/// that has not proved its token within it is closed.
/// </summary>
public sealed class DataChannelServer : BackgroundService
{
    private readonly TcpListener _listener;
    private readonly DataConnectionHandler _handler;
    private readonly X509Certificate2 _certificate;
    private readonly TimeSpan _helloTimeout;
    private readonly ILogger _logger;

    public DataChannelServer(ReceiverOptions options, SessionRegistry sessions, X509Certificate2 certificate, ILogger<DataChannelServer> logger)
    {
        _certificate = certificate;
        _helloTimeout = options.HelloTimeout;
        _logger = logger;
        _listener = new TcpListener(options.ListenAddress, options.DataPort);
        // SO_REUSEADDR alone (as Kestrel does): a restarted receiver can bind despite TIME_WAIT connections.
        // .NET's ReuseAddress option would also set SO_REUSEPORT, letting a second receiver share the port unnoticed.
        const int solSocket = 1, soReuseAddr = 2;
        _listener.Server.SetRawSocketOption(solSocket, soReuseAddr, BitConverter.GetBytes(1));
        _listener.Start(backlog: 64);
        _handler = new DataConnectionHandler(sessions, logger);
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
                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(Task.Run(() => ServeAsync(socket, stoppingToken), CancellationToken.None));
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

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        var clock = Stopwatch.StartNew();
        var remote = socket.RemoteEndPoint as IPEndPoint;
        await using var network = new NetworkStream(socket, ownsSocket: true);
        Stream stream = network;
        var encrypted = false;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            timeout.CancelAfter(_helloTimeout);
            try
            {
                var first = new byte[DataPreamble.Cleartext.Length];
                if (await socket.ReceiveAsync(first.AsMemory(0, 1), SocketFlags.Peek, timeout.Token) == 0)
                {
                    return;
                }
                if (first[0] == DataPreamble.TlsHandshakeRecord)
                {
                    var tls = new SslStream(network, leaveInnerStreamOpen: true);
                    stream = tls;
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _certificate,
                        EnabledSslProtocols = Transfer.Control.CertificatePin.Protocols,
                    }, timeout.Token);
                    encrypted = true;
                }
                else
                {
                    await network.ReadExactlyAsync(first, timeout.Token);
                    if (!first.AsSpan().SequenceEqual(DataPreamble.Cleartext))
                    {
                        Log.DataConnectionClosed(_logger, remote?.ToString() ?? "?", "E_PROTOCOL", "neither TLS nor Ferry's cleartext preamble");
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                Log.DataConnectionClosed(_logger, remote?.ToString() ?? "?", "E_PROTOCOL", $"no TLS handshake or preamble within {_helloTimeout.TotalSeconds:0} s");
                return;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                Log.DataConnectionClosed(_logger, remote?.ToString() ?? "?", "E_PROTOCOL", "TLS handshake failed: " + e.Message);
                return;
            }
        }
        try
        {
            await _handler.HandleAsync(stream, remote, encrypted, _helloTimeout - clock.Elapsed, stopping);
        }
        finally
        {
            if (stream != network)
            {
                await stream.DisposeAsync();
            }
        }
    }
}
