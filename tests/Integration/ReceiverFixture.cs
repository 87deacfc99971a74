using System.Net;
using System.Security.Cryptography;
using Ferry.Receiver.Hosting;
using Ferry.Transfer.Control;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Grpc.Core;

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

    public static async Task<ReceiverFixture> StartAsync(string output, TransportSecurity security = TransportSecurity.Auto)
    {
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var host = await ReceiverHost.StartAsync(new ReceiverOptions
        {
            ListenAddress = IPAddress.Loopback,
            ControlPort = 0,
            DataPort = 0,
            OutputDirectory = output,
            Token = TokenCheck.FromToken(token, security),
            // Beside the output directory, so that tests can check that a refused session left nothing in it.
            CertificatePath = output.TrimEnd('/') + ".receiver.pfx",
        }).WaitAsync(TimeSpan.FromSeconds(30));
        return new ReceiverFixture(host, output, token);
    }

    /// <summary>What an agent does first on a new cleartext data connection: the preamble, then a Hello answering the receiver's challenge.</summary>
    public static async Task IntroduceAsync(Stream stream, FrameWriter writer, SessionCredentials session)
    {
        await stream.WriteAsync(DataPreamble.Cleartext.ToArray()); // cleartext: loopback, where auto allows it
        using var challenge = await new FrameReader(stream).ReadAsync(default);
        Xunit.Assert.Equal(FrameType.Challenge, challenge!.Header.Type);
        await writer.WriteControlAsync(new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, 0),
            DataHandshake.Hello(session.Key, challenge.Payload, session.SessionId), default);
    }

    /// <summary>Arguments that point the agent at this receiver (as HOST: 10.0.2.2 from inside a QEMU guest).</summary>
    public string[] AgentArgs(string? token = null, string host = "127.0.0.1", int? controlPort = null, int? dataPort = null) =>
    [
        "--receiver", host,
        "--control-port", (controlPort ?? Host.ControlEndpoint.Port).ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--data-port", (dataPort ?? Host.DataEndpoint.Port).ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--token", token ?? Token,
        "--receiver-fingerprint", Host.Fingerprint,
    ];

    /// <summary>
    /// Opens a file-replication session as an agent would: one 128 MiB GPT disk with an ext4 "/" (tree 0),
    /// mounted by the receiver at OUT/SOURCE/work/mnt/0. Returns the session id for the data channel.
    /// </summary>
    public async Task<SessionCredentials> OpenFileSessionAsync(string source)
    {
        using var channel = PinnedChannel.Open(Host.ControlEndpoint.Port, Host.Fingerprint);
        var client = new ReceiverControl.ReceiverControlClient(channel);
        var layout = new TargetLayout { BootMode = "uefi" };
        var disk = new LayoutDisk { Index = 0, Name = "vda", SizeBytes = 128UL << 20, PartitionTable = "gpt" };
        disk.Partitions.Add(new LayoutPartition { MountPoint = "/", Filesystem = "ext4", Tree = 0 });
        layout.Disks.Add(disk);
        var reply = await client.OpenSessionAsync(new OpenSessionRequest { SourceName = source, ImageFormat = "raw", Layout = layout },
            new Metadata { { ControlMetadata.Authorization, ControlMetadata.Bearer(Token) } });
        return new SessionCredentials(reply.SessionId.ToByteArray(), DataHandshake.Key(Token));
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
