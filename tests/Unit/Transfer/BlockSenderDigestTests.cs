using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Ferry.Disks;
using Ferry.Receiver.Channels;
using Ferry.Receiver.Sessions;
using Ferry.Receiver.Targets;
using Ferry.Tests.Unit.Receiver;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Framing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

/// <summary>
/// An incremental cycle end to end in one process: a source disk in memory is sent by the real
/// <see cref="BlockSender"/> over in-memory data connections to the receiver's real connection handler,
/// which writes onto the previous cycle's working image (a <see cref="DigestedTarget"/>). Only regions
/// whose hash differs from what the receiver holds, or that it does not know, travel; the image ends
/// equal to the source.
/// </summary>
public sealed class BlockSenderDigestTests : IDisposable
{
    private const int Region = RegionDigest.RegionBytes;
    private const int ChunkBytes = 16 * Region;

    /// <summary>Five chunks, two whole regions and 1000 bytes: regions 0-82, the last one short.</summary>
    private const long DiskBytes = (5L * ChunkBytes) + (2 * Region) + 1000;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new();
    private readonly byte[] _sessionId = RandomNumberGenerator.GetBytes(DataHandshake.SessionIdBytes);
    private readonly byte[] _key = DataHandshake.Key("incremental-test-token");
    private readonly List<Task> _handlers = [];
    private readonly List<PipeWriter> _toReceiver = [];

    public void Dispose() => _dir.Dispose();

    private string ImagePath => _dir["vda.raw"];

    [Fact]
    public async Task SendAsync_DigestHoldsMostRegions_SendsOnlyChangedAndUnknownRegionsAndTheImageEndsEqualToTheSource()
    {
        var old = Bytes(DiskBytes, seed: 1);
        var source = (byte[])old.Clone();
        Change(source, 3, 4, 5);      // a run of three regions
        Change(source, 15, 16);       // a run across the boundary of chunks 0 and 1
        Array.Clear(source, 20 * Region, Region); // now zeros on the source
        source[(82 * Region) + 999] ^= 0xFF;      // the short last region's last byte
        var digest = DictionaryRegionDigest.Of(0, old);
        digest.Forget(0, 40);         // held, but the receiver does not know it
        var progress = new TransferProgress();

        var sender = await SendAsync(old, source, digest, progress);

        Assert.Equal(
        [
            new ByteRange(3 * Region, 3 * Region),
            new ByteRange(15 * Region, Region),
            new ByteRange(16 * Region, Region),
            new ByteRange(20 * Region, Region),
            new ByteRange(40 * Region, Region),
            new ByteRange(82 * Region, 1000),
        ], sender.Sent[0].Select(s => new ByteRange(s.Offset, s.Length)).Order(ByOffset));
        const long sent = (7 * Region) + 1000;
        Assert.Equal(DiskBytes - sent, progress.UnchangedBytes);
        Assert.Equal(DiskBytes, progress.DoneBytes);
        Assert.Equal(source, File.ReadAllBytes(ImagePath));
    }

    [Fact]
    public async Task SendAsync_DigestHoldsMostRegions_LeavesTheReceiversDigestEqualToTheSourcesHashes()
    {
        var old = Bytes(DiskBytes, seed: 2);
        var source = (byte[])old.Clone();
        Change(source, 7, 30, 81);
        var digest = DictionaryRegionDigest.Of(0, old);
        digest.Forget(0, 60);

        await SendAsync(old, source, digest, new TransferProgress());

        using var reopened = DigestFile.Open(DigestedTarget.DigestPath(ImagePath), ImagePath, DiskBytes);
        Assert.False(reopened.Rebuilt);
        var expected = DictionaryRegionDigest.Of(0, source);
        var hashes = new UInt128[RegionDigest.Count(DiskBytes)];
        expected.Read(0, 0, hashes);
        for (var i = 0; i < hashes.Length; i++)
        {
            Assert.Equal(hashes[i], reopened.Get(i));
        }
    }

    [Fact]
    public async Task SendAsync_DigestHoldsEveryRegion_SendsNothingAndCountsEveryByteUnchanged()
    {
        var image = Bytes(DiskBytes, seed: 3);
        var progress = new TransferProgress();

        var sender = await SendAsync(image, image, DictionaryRegionDigest.Of(0, image), progress);

        Assert.Empty(sender.Sent[0]);
        Assert.Equal(DiskBytes, progress.UnchangedBytes);
        Assert.Equal(DiskBytes, progress.DoneBytes);
        Assert.Equal(0, progress.WireBytes);
        Assert.Equal(image, File.ReadAllBytes(ImagePath));
    }

    [Fact]
    public async Task SendAsync_DigestKnowsNothing_SendsEveryRegion()
    {
        var old = Bytes(DiskBytes, seed: 4);
        var source = Bytes(DiskBytes, seed: 5);
        var progress = new TransferProgress();

        var sender = await SendAsync(old, source, new DictionaryRegionDigest(), progress);

        Assert.Equal(DiskBytes, sender.Sent[0].Sum(s => (long)s.Length));
        Assert.Equal(0, progress.UnchangedBytes);
        Assert.Equal(source, File.ReadAllBytes(ImagePath));
    }

    [Fact]
    public async Task SendAsync_RangesAlignedOutFromUsedBlocks_ComparesAndSendsOnlyWithinThem()
    {
        var old = Bytes(DiskBytes, seed: 6);
        var source = (byte[])old.Clone();
        Change(source, 2, 9, 33);
        var digest = DictionaryRegionDigest.Of(0, old);
        // Used blocks in regions 2 and 9-10; region 33 changed outside them and is not this cycle's business.
        var ranges = RegionDigest.AlignOut([new ByteRange((2 * Region) + 512, 512), new ByteRange((9 * Region) + 4000, 200)], DiskBytes);
        var progress = new TransferProgress();

        var sender = await SendAsync(old, source, digest, progress, ranges);

        Assert.Equal([new ByteRange(2 * Region, Region), new ByteRange(9 * Region, Region)],
            sender.Sent[0].Select(s => new ByteRange(s.Offset, s.Length)).Order(ByOffset));
        Assert.Equal(Region, progress.UnchangedBytes);
        Assert.Equal(3L * Region, progress.DoneBytes);
    }

    private static readonly Comparer<ByteRange> ByOffset = Comparer<ByteRange>.Create((a, b) => a.Offset.CompareTo(b.Offset));

    /// <summary>
    /// Puts <paramref name="old"/> on the receiver as the working image, sends <paramref name="source"/>
    /// against <paramref name="digest"/>, and returns once the receiver has closed the session (sealing the digest).
    /// </summary>
    private async Task<BlockSender> SendAsync(byte[] old, byte[] source, IRegionDigest digest, TransferProgress progress,
        IReadOnlyList<ByteRange>? ranges = null)
    {
        File.WriteAllBytes(ImagePath, old);
        using var sessions = new SessionRegistry();
        sessions.Add(new ReceiveSession(_sessionId, _key, "web1", new Dictionary<uint, IDiskTarget> { [0] = DigestedTarget.Open(ImagePath, DiskBytes) }, "raw"));
        var handler = new DataConnectionHandler(sessions, NullLogger.Instance);
        var disk = new DiskSource(0, "vda", new MemoryByteReader(source), ranges ?? [new ByteRange(0, DiskBytes)]);
        progress.SetTotal(disk.PlannedBytes);
        var sender = new BlockSender(new BlockSendOptions { ChunkBytes = ChunkBytes, Streams = 2, Encoders = 2, RecordHashes = true, Digest = digest }, progress);

        await sender.SendAsync([disk], ct => Connect(handler, ct), CancellationToken.None).WaitAsync(Timeout);

        foreach (var writer in _toReceiver)
        {
            await writer.CompleteAsync().AsTask().WaitAsync(Timeout);
        }
        await Task.WhenAll(_handlers).WaitAsync(Timeout);
        return sender;
    }

    /// <summary>One data connection to the receiver's handler through a pair of in-memory pipes.</summary>
    private Task<DataChannelClient> Connect(DataConnectionHandler handler, CancellationToken ct)
    {
        var toReceiver = new Pipe();
        var fromReceiver = new Pipe();
        _toReceiver.Add(toReceiver.Writer);
        _handlers.Add(handler.HandleAsync(new DuplexStream(toReceiver.Reader.AsStream(), fromReceiver.Writer.AsStream()),
            new IPEndPoint(IPAddress.Loopback, 1), encrypted: true, Timeout, CancellationToken.None));
        return DataChannelClient.OpenAsync(_ => Task.FromResult<Stream>(new DuplexStream(fromReceiver.Reader.AsStream(), toReceiver.Writer.AsStream())),
            new SessionCredentials(_sessionId, _key), ct);
    }

    /// <summary>Flips one byte in the middle of each of <paramref name="regions"/>.</summary>
    private static void Change(byte[] disk, params long[] regions)
    {
        foreach (var region in regions)
        {
            disk[(region * Region) + 100] ^= 0x5A;
        }
    }

    private static byte[] Bytes(long length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
