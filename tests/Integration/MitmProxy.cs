using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Tests.Integration;

/// <summary>
/// A test-only man in the middle: it accepts TLS on a loopback port with a certificate of its own
/// (self-signed, CN=ferry-receiver like the real one) and would relay to the receiver; an agent
/// pinning the receiver's certificate must refuse it during the handshake.
/// </summary>
internal sealed class MitmProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public MitmProxy()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=ferry-receiver", key, HashAlgorithmName.SHA256);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections made to the proxy.</summary>
    public int Connections { get; private set; }

    /// <summary>Connections on which the client sent anything after the handshake (a token, a frame): none must.</summary>
    public int SentData { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _certificate.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Connections++;
            using (client)
            await using (var tls = new SslStream(client.GetStream()))
            {
                try
                {
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _certificate,
                        ApplicationProtocols = [SslApplicationProtocol.Http2],
                    }, _stop.Token);
                    // Had the client accepted the certificate, this is where its token and data would arrive.
                    if (await tls.ReadAsync(new byte[1], _stop.Token) > 0)
                    {
                        SentData++;
                    }
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                {
                    // The client aborted the handshake (TLS 1.2) or alerted after it (1.3): refused.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
