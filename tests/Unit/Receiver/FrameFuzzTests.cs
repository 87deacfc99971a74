using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Ferry.Receiver.Channels;
using Ferry.Receiver.Sessions;
using Ferry.Receiver.Targets;
using Ferry.Transfer.Framing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>
/// The receiver's data-channel handler under a million hostile frames (<see cref="FrameFuzzer"/>),
/// connection after connection, each authenticated as a real agent would be and then fed mutated
/// traffic. It must never crash, stay within a memory cap, write nothing outside the session's disk
/// (and nothing past its end), and end every refused connection with a stable protocol error code.
/// CI runs a fixed seed; <c>make fuzz</c> runs longer with a random one (FERRY_FUZZ_FRAMES, FERRY_FUZZ_SEED).
/// </summary>
[Collection("fuzz")]
public sealed class FrameFuzzTests(ITestOutputHelper output)
{
    private const long DiskBytes = 8 << 20;

    /// <summary>The cap on the managed heap while fuzzing: every frame is bounded, so nothing may accumulate.</summary>
    private const long ManagedCapBytes = 256L << 20;

    private static readonly string[] RefusalCodes = ["E_PROTOCOL", "E_VERSION_MISMATCH", "E_AUTH_FAILED", "E_SESSION_UNKNOWN"];

    [Fact]
    public async Task AMillionHostileFrames_NoCrash_BoundedMemory_NothingWrittenOutsideTheDisk_ACodeForEveryRefusal()
    {
        var frames = long.Parse(Environment.GetEnvironmentVariable("FERRY_FUZZ_FRAMES") ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);
        var seed = int.Parse(Environment.GetEnvironmentVariable("FERRY_FUZZ_SEED") ?? "20261127", System.Globalization.CultureInfo.InvariantCulture);
        using var dir = new TempDir();
        File.WriteAllText(dir["bystander.txt"], "nothing may change this file");
        var before = Snapshot(dir.Path);
        var key = DataHandshake.Key("fuzz-token");
        var target = ImageFileTarget.Create(dir["disk.raw"], DiskBytes);
        using var sessions = new SessionRegistry();
        var session = new ReceiveSession(RandomNumberGenerator.GetBytes(DataHandshake.SessionIdBytes), key, "fuzz",
            new Dictionary<uint, IDiskTarget> { [0] = target }, "raw");
        sessions.Add(session);
        var handler = new DataConnectionHandler(sessions, NullLogger.Instance);
        var fuzzer = new FrameFuzzer(seed, DiskBytes);
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        var (connections, clean, peakManaged) = (0, 0, 0L);
        var clock = Stopwatch.StartNew();

        while (fuzzer.Frames < frames)
        {
            connections++;
            var code = await RunConnectionAsync(handler, fuzzer, session.Id, key);
            if (code is null)
            {
                clean++;
            }
            else
            {
                codes[code] = codes.GetValueOrDefault(code) + 1;
            }
            if (connections % 500 == 0)
            {
                peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
            }
        }

        output.WriteLine($"seed {seed}: {fuzzer.Frames:N0} frames in {connections:N0} connections in {clock.Elapsed.TotalSeconds:0.0} s; " +
            $"{clean:N0} ended cleanly; refusals: {string.Join(", ", codes.Select(kv => $"{kv.Key} {kv.Value:N0}"))}; " +
            $"peak managed heap {peakManaged >> 20} MiB (cap {ManagedCapBytes >> 20}); working set {Environment.WorkingSet >> 20} MiB");
        Assert.True(fuzzer.Frames >= frames);
        Assert.All(codes.Keys, c => Assert.Contains(c, RefusalCodes));
        Assert.True(codes.GetValueOrDefault("E_PROTOCOL") > connections / 4, "the fuzzer hardly reached the checks it means to test");
        Assert.True(peakManaged < ManagedCapBytes, $"the managed heap grew to {peakManaged >> 20} MiB");
        // Nothing outside the session's image changed, and the image did not grow past the disk.
        session.FlushAll();
        var after = Snapshot(dir.Path);
        Assert.Equal(DiskBytes, after[dir["disk.raw.partial"]].Length);
        after.Remove(dir["disk.raw.partial"]);
        Assert.Equal(before, after);
    }

    /// <summary>One connection: the handshake as an agent does it, then hostile frames. Returns the code of the receiver's Error frame, or null.</summary>
    private static async Task<string?> RunConnectionAsync(DataConnectionHandler handler, FrameFuzzer fuzzer, byte[] sessionId, byte[] key)
    {
        var toReceiver = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var fromReceiver = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var handling = handler.HandleAsync(new DuplexStream(toReceiver.Reader.AsStream(), fromReceiver.Writer.AsStream()),
            new IPEndPoint(IPAddress.Loopback, 1), encrypted: true, TimeSpan.FromSeconds(30), CancellationToken.None);
        var answers = fromReceiver.Reader.AsStream();
        var reader = new FrameReader(answers);
        using (var challenge = await reader.ReadAsync(default))
        {
            var traffic = new MemoryStream();
            var hello = DataHandshake.Hello(key, challenge!.Payload, sessionId);
            var header = new byte[FrameHeader.Size];
            new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, (uint)hello.Length).Write(header);
            traffic.Write(header);
            traffic.Write(hello);
            fuzzer.WriteConnection(traffic, 200);
            await toReceiver.Writer.WriteAsync(traffic.ToArray());
            await toReceiver.Writer.CompleteAsync();
        }
        // Whatever the traffic, the handler returns; an exception escaping it fails the test.
        await handling.WaitAsync(TimeSpan.FromSeconds(30));
        await fromReceiver.Writer.CompleteAsync();
        string? code = null;
        while (await reader.ReadAsync(default) is { } answer)
        {
            using (answer)
            {
                if (answer.Header.Type == FrameType.Error)
                {
                    code = FrameWriter.ParseError(answer.Payload).Code;
                }
                else
                {
                    Assert.Contains(answer.Header.Type, (FrameType[])[FrameType.Nack, FrameType.FlushAck]);
                }
            }
        }
        return code;
    }

    /// <summary>Every file under <paramref name="root"/> with its length and last write time.</summary>
    private static Dictionary<string, (long Length, DateTime Written)> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));
}
