using Ferry.Transfer.Control;
using Grpc.Net.Client;

namespace Ferry.Tests;

/// <summary>A gRPC channel to a receiver's control port on loopback, over TLS, accepting only its pinned certificate (as the agent does).</summary>
internal static class PinnedChannel
{
    public static GrpcChannel Open(int port, string fingerprint) =>
        GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = CertificatePin.TryParse(fingerprint)!.ClientOptions("127.0.0.1") },
        });
}
