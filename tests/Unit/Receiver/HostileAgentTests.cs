using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Receiver.Hosting;
using Ferry.Transfer.Control;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>
/// A receiver on loopback fed with what a broken or hostile agent might send: each bad input gets a
/// clear answer with a stable code, and nothing it sent reaches the image.
/// </summary>
public sealed class HostileAgentTests : IAsyncLifetime
{
    private const long DiskBytes = 8L << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir = new();
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    // Another job's token, which this receiver also accepts (as under a control plane, one per job).
    private readonly string _otherJob = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private ReceiverHost _host = null!;
    private GrpcChannel _channel = null!;
    private ReceiverControl.ReceiverControlClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await ReceiverHost.StartAsync(new ReceiverOptions
        {
            ListenAddress = IPAddress.Loopback,
            ControlPort = 0,
            DataPort = 0,
            OutputDirectory = _dir["out"],
            Token = Tokens(),
            // Short, so that the no-Hello test is quick; long enough for a challenge round trip on a busy machine.
            HelloTimeout = TimeSpan.FromSeconds(2),
            CertificatePath = _dir["receiver.pfx"],
            SpaceReserveBytes = 0,
        }).WaitAsync(Timeout);
        _channel = PinnedChannel.Open(_host.ControlEndpoint.Port, _host.Fingerprint);
        _client = new ReceiverControl.ReceiverControlClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task OpenSession_WrongToken_IsRefusedAsAuthFailedAndCreatesNothing()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Open("intruder", "not-the-token"));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal("E_AUTH_FAILED", e.Trailers.GetValue(ControlMetadata.ErrorCode));
        Assert.False(Directory.Exists(_dir["out/intruder"]));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task OpenSession_SourceNameThatEscapesTheOutputDirectory_IsRefused(string name)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Open(name));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("E_PROTOCOL", e.Trailers.GetValue(ControlMetadata.ErrorCode));
        Assert.Empty(Directory.GetFileSystemEntries(_dir["out"]));
    }

    [Fact]
    public async Task OpenSession_UnknownImageFormat_IsRefusedAndCreatesNothing()
    {
        var request = new OpenSessionRequest { SourceName = "src", AgentVersion = "test", ImageFormat = "iso" };
        request.Disks.Add(new SourceDisk { Index = 0, Name = "vda", SizeBytes = DiskBytes, LogicalSectorSize = 512, PlannedBytes = 1 << 20 });

        var e = await Assert.ThrowsAsync<RpcException>(() => _client.OpenSessionAsync(request,
            new Metadata { { ControlMetadata.Authorization, "Bearer " + _token } }, DateTime.UtcNow.Add(Timeout)).ResponseAsync);

        Assert.Equal("E_INVALID_REQUEST", e.Trailers.GetValue(ControlMetadata.ErrorCode));
        Assert.Empty(Directory.GetFileSystemEntries(_dir["out"]));
    }

    [Fact]
    public async Task DataFrame_WithBadChecksum_IsNackedAndNotWritten()
    {
        var session = await Open("src");
        await using var connection = await Connect(session.SessionId);
        var payload = Enumerable.Repeat((byte)0xAB, 4096).ToArray();

        await connection.Send(new FrameHeader(FrameType.Data, FrameFlags.None, 0, 4096, 8192, 1, 12345, 4096), payload);
        await connection.Send(new FrameHeader(FrameType.Flush, FrameFlags.None, 0, 0, 0, 2, 0, 0), []);

        using var nack = await connection.Receive();
        Assert.Equal(FrameType.Nack, nack!.Header.Type);
        Assert.Equal(8192UL, nack.Header.Offset);
        using var ack = await connection.Receive();
        Assert.Equal(FrameType.FlushAck, ack!.Header.Type);
        Assert.True(ReadImage(session, 8192, 4096).All(b => b == 0), "a frame that failed its checksum reached the image");
    }

    [Fact]
    public async Task DataFrame_OutsideTheDisk_ClosesTheConnectionWithProtocolErrorAndWritesNothing()
    {
        var session = await Open("src");
        await using var connection = await Connect(session.SessionId);
        var payload = new byte[4096];
        payload[0] = 1;
        var checksum = System.IO.Hashing.XxHash3.HashToUInt64(payload);

        await connection.Send(new FrameHeader(FrameType.Data, FrameFlags.None, 0, 4096, DiskBytes - 2048, 1, checksum, 4096), payload);

        using var error = await connection.Receive();
        Assert.Equal(FrameType.Error, error!.Header.Type);
        var (code, message) = FrameWriter.ParseError(error.Payload);
        Assert.Equal("E_PROTOCOL", code);
        Assert.Contains("outside the disk", message, StringComparison.Ordinal);
        Assert.Null(await connection.Receive());
        Assert.Equal(DiskBytes, new FileInfo(PartialImage(session)).Length);
    }

    [Fact]
    public async Task DataFrame_ForAnUnknownDisk_IsAProtocolError()
    {
        var session = await Open("src");
        await using var connection = await Connect(session.SessionId);

        await connection.Send(new FrameHeader(FrameType.Zero, FrameFlags.None, 9, 4096, 0, 1, 0, 0), []);

        using var error = await connection.Receive();
        Assert.Equal("E_PROTOCOL", FrameWriter.ParseError(error!.Payload).Code);
    }

    [Fact]
    public async Task Connection_WithoutHello_IsClosedAfterTheHelloTimeout()
    {
        await Open("src");
        await using var connection = await Connect(null);

        using var challenge = await connection.Receive();
        using var error = await connection.Receive();

        Assert.Equal(FrameType.Challenge, challenge!.Header.Type);
        Assert.Equal(FrameType.Error, error!.Header.Type);
        Assert.Contains("no Hello", FrameWriter.ParseError(error.Payload).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hello_NamingNoSession_IsRefusedAsSessionUnknown()
    {
        await using var connection = await Connect(ByteString.CopyFrom(new byte[DataHandshake.SessionIdBytes]));

        using var error = await connection.Receive();

        Assert.Equal("E_SESSION_UNKNOWN", FrameWriter.ParseError(error!.Payload).Code);
    }

    [Fact]
    public async Task Garbage_InsteadOfAFrame_IsAProtocolError()
    {
        await using var connection = await Connect(null);
        using var challenge = await connection.Receive();

        await connection.SendRaw(new byte[FrameHeader.Size]);

        using var error = await connection.Receive();
        Assert.Equal("E_PROTOCOL", FrameWriter.ParseError(error!.Payload).Code);
    }

    [Fact]
    public async Task Hello_ProvingAnotherJobsToken_IsRefusedAsAuthFailed_AndWritesNothing()
    {
        var session = await Open("src");
        await using var connection = await Connect(session.SessionId, _otherJob);
        await connection.Send(new FrameHeader(FrameType.Data, FrameFlags.None, 0, 512, 0, 1, XxHash3.HashToUInt64(new byte[512]), 512), Enumerable.Repeat((byte)0xAB, 512).ToArray());

        using var error = await connection.Receive();

        Assert.Equal("E_AUTH_FAILED", FrameWriter.ParseError(error!.Payload).Code);
        Assert.Equal(new byte[512], ReadImage(session, 0, 512));
    }

    [Fact]
    public async Task Hello_ReplayedFromAnotherConnection_IsRefusedAsAuthFailed()
    {
        var session = await Open("src");
        await using var first = await Connect(null);
        using var challenge = await first.Receive();
        var hello = DataHandshake.Hello(DataHandshake.Key(_token), challenge!.Payload, session.SessionId.Span);
        await first.Send(new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, DataHandshake.HelloBytes), hello);

        // The recorded Hello, presented on a new connection with a new challenge.
        await using var replay = await Connect(null);
        using var _ = await replay.Receive();
        await replay.Send(new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, DataHandshake.HelloBytes), hello);

        using var error = await replay.Receive();
        Assert.Equal("E_AUTH_FAILED", FrameWriter.ParseError(error!.Payload).Code);
    }

    [Fact]
    public async Task AnotherJobsToken_CannotVerifyFinishAbortOrReplaceTheSession()
    {
        var session = await Open("src");
        var other = new Metadata { { ControlMetadata.Authorization, "Bearer " + _otherJob } };

        var verify = await Assert.ThrowsAsync<RpcException>(() => _client.VerifyAsync(new VerifyRequest { SessionId = session.SessionId, Disk = 0 }, other).ResponseAsync);
        var finish = await Assert.ThrowsAsync<RpcException>(() => _client.FinishSessionAsync(new FinishSessionRequest { SessionId = session.SessionId }, other).ResponseAsync);
        var abort = await Assert.ThrowsAsync<RpcException>(() => _client.AbortSessionAsync(new FinishSessionRequest { SessionId = session.SessionId }, other).ResponseAsync);
        var replace = await Assert.ThrowsAsync<RpcException>(() => Open("src", _otherJob));

        Assert.All(new[] { verify, finish, abort }, e => Assert.Equal("E_SESSION_UNKNOWN", e.Trailers.GetValue(ControlMetadata.ErrorCode)));
        Assert.Equal("E_JOB_CONFLICT", replace.Trailers.GetValue(ControlMetadata.ErrorCode));
        Assert.True(File.Exists(PartialImage(session)), "another job's call removed the session's image");
        await using var owner = await Connect(session.SessionId);
        await owner.Send(new FrameHeader(FrameType.Flush, FrameFlags.None, 0, 0, 0, 1, 0, 0), []);
        using var ack = await owner.Receive();
        Assert.Equal(FrameType.FlushAck, ack!.Header.Type);
    }

    private TokenCheck Tokens()
    {
        var tokens = TokenCheck.FromToken(_token);
        tokens.Allow(_otherJob);
        return tokens;
    }

    private Task<OpenSessionReply> Open(string name, string? token = null)
    {
        var request = new OpenSessionRequest { SourceName = name, AgentVersion = "test" };
        request.Disks.Add(new SourceDisk { Index = 0, Name = "vda", SizeBytes = DiskBytes, LogicalSectorSize = 512, PlannedBytes = 1 << 20 });
        var headers = new Metadata { { ControlMetadata.Authorization, "Bearer " + (token ?? _token) } };
        return _client.OpenSessionAsync(request, headers, DateTime.UtcNow.Add(Timeout)).ResponseAsync;
    }

    /// <summary>A data connection; with a session id, the receiver's challenge is answered with a Hello proving <paramref name="token"/> (default: the session's).</summary>
    private async Task<RawConnection> Connect(ByteString? sessionId, string? token = null)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _host.DataEndpoint.Port).WaitAsync(Timeout);
        var connection = new RawConnection(client);
        await connection.SendRaw(DataPreamble.Cleartext.ToArray()); // cleartext: loopback, where auto allows it
        if (sessionId is not null)
        {
            using var challenge = await connection.Receive();
            Assert.Equal(FrameType.Challenge, challenge!.Header.Type);
            var hello = DataHandshake.Hello(DataHandshake.Key(token ?? _token), challenge.Payload, sessionId.Span);
            await connection.Send(new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, DataHandshake.HelloBytes), hello);
        }
        return connection;
    }

    private static string PartialImage(OpenSessionReply session) => session.Targets[0].Path + ".partial";

    private static byte[] ReadImage(OpenSessionReply session, long offset, int length)
    {
        using var f = new FileStream(PartialImage(session), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = offset;
        var b = new byte[length];
        f.ReadExactly(b);
        return b;
    }

    private sealed class RawConnection(TcpClient client) : IAsyncDisposable
    {
        private readonly NetworkStream _stream = client.GetStream();

        public async Task Send(FrameHeader header, byte[] payload)
        {
            var bytes = new byte[FrameHeader.Size + payload.Length];
            header.Write(bytes);
            payload.CopyTo(bytes, FrameHeader.Size);
            await SendRaw(bytes);
        }

        public async Task SendRaw(byte[] bytes) => await _stream.WriteAsync(bytes).AsTask().WaitAsync(Timeout);

        public async Task<Frame?> Receive() => await new FrameReader(_stream).ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);

        public ValueTask DisposeAsync()
        {
            client.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
