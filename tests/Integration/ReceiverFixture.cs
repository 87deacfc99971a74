using System.Net;
using System.Security.Cryptography;
using Ferry.Receiver.Hosting;

namespace Ferry.Tests.Integration;

/// <summary>A real receiver on loopback (free ports) writing into a scratch directory, with a random token.</summary>
internal sealed class ReceiverFixture : IAsyncDisposable
{
    private ReceiverFixture(ReceiverHost host, string output, string token)
    {
        Host = host;
        Output = output;
        Token = token;
    }

    public ReceiverHost Host { get; }

    public string Output { get; }

    public string Token { get; }

    public static async Task<ReceiverFixture> StartAsync(string output)
    {
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var host = await ReceiverHost.StartAsync(new ReceiverOptions
        {
            ListenAddress = IPAddress.Loopback,
            ControlPort = 0,
            DataPort = 0,
            OutputDirectory = output,
            Token = TokenCheck.FromToken(token),
        }).WaitAsync(TimeSpan.FromSeconds(30));
        return new ReceiverFixture(host, output, token);
    }

    /// <summary>Arguments that point the agent at this receiver.</summary>
    public string[] AgentArgs(string? token = null) =>
    [
        "--receiver", "127.0.0.1",
        "--control-port", Host.ControlEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--data-port", Host.DataEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--token", token ?? Token,
    ];

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
