using System.Buffers;
using System.IO.Hashing;
using System.Threading.Channels;
using Ferry.Disks;
using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Blocks;

/// <summary>
/// Sends the planned ranges of source disks as frames. Three bounded stages run at once:
/// one reader (sequential reads keep a disk's read-ahead effective), several encoders (checksum
/// and LZ4, the CPU-bound part), and one sender per data connection. Bounded channels cap the
/// bytes in flight at a few MiB per stage whatever the disk size; every buffer comes from the
/// shared pool and goes back once its frame is on the wire.
/// </summary>
public sealed class BlockSender(BlockSendOptions options, TransferProgress progress)
{
    private readonly Dictionary<uint, List<SentRange>> _sent = [];

    /// <summary>What was sent per disk (only when <see cref="BlockSendOptions.RecordHashes"/> is set).</summary>
    public IReadOnlyDictionary<uint, List<SentRange>> Sent => _sent;

    /// <param name="positions">
    /// Where each chunk read is registered, so that the durable position of each disk is known (the
    /// connections must mark acknowledged chunks in the same instance). One attempt of a resumable
    /// transfer: <paramref name="disks"/> hold only what is left to send.
    /// </param>
    public async Task SendAsync(IReadOnlyList<DiskSource> disks, Func<CancellationToken, Task<DataChannelClient>> connect,
        CancellationToken cancellationToken, DurablePositions? positions = null)
    {
        foreach (var d in disks)
        {
            _sent.TryAdd(d.Index, []);
        }
        progress.Phase = "sending";
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var raw = Channel.CreateBounded<RawChunk>(new BoundedChannelOptions(options.Encoders * 2) { SingleWriter = true });
        var encoded = Channel.CreateBounded<EncodedFrame>(options.Streams * 4);
        var byIndex = disks.ToDictionary(d => d.Index);

        var clients = new List<DataChannelClient>();
        try
        {
            for (var i = 0; i < options.Streams; i++)
            {
                clients.Add(await connect(failed.Token));
            }

            var reader = Guard(Task.Run(() => ReadAll(disks, raw.Writer, positions, failed.Token), failed.Token), failed);
            var encoders = Enumerable.Range(0, options.Encoders)
                .Select(_ => Guard(Task.Run(() => EncodeAll(raw.Reader, encoded.Writer, failed.Token), failed.Token), failed))
                .ToArray();
            var encodersDone = Task.WhenAll(encoders).ContinueWith(t => encoded.Writer.TryComplete(t.Exception?.GetBaseException()),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var senders = clients.Select(c => Guard(SendAll(c, encoded.Reader, byIndex, failed.Token), failed)).ToArray();

            await WhenAllFirstError([reader, .. encoders, .. senders]);
            await encodersDone;
        }
        finally
        {
            raw.Writer.TryComplete();
            encoded.Writer.TryComplete();
            while (raw.Reader.TryRead(out var chunk))
            {
                chunk.Dispose();
            }
            while (encoded.Reader.TryRead(out var frame))
            {
                frame.Dispose();
            }
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private void ReadAll(IReadOnlyList<DiskSource> disks, ChannelWriter<RawChunk> output, DurablePositions? positions, CancellationToken ct)
    {
        try
        {
            foreach (var disk in disks)
            {
                progress.CurrentDisk = disk.Name;
                foreach (var range in Chunking.Split(disk.Ranges, options.ChunkBytes))
                {
                    var chunk = RawChunk.Read(disk, range, options.Digest);
                    positions?.Reading(disk.Index, range.Offset, range.End);
                    while (!output.TryWrite(chunk))
                    {
                        if (!output.WaitToWriteAsync(ct).AsTask().GetAwaiter().GetResult())
                        {
                            chunk.Dispose();
                            return;
                        }
                    }
                }
            }
        }
        finally
        {
            output.TryComplete();
        }
    }

    private async Task EncodeAll(ChannelReader<RawChunk> input, ChannelWriter<EncodedFrame> output, CancellationToken ct)
    {
        await foreach (var chunk in input.ReadAllAsync(ct))
        {
            if (chunk.Held is not null)
            {
                await EncodeChangedAsync(chunk, output, ct);
                continue;
            }
            EncodedFrame frame;
            using (chunk)
            {
                if (options.Unchanged is { } unchanged && unchanged(chunk.Disk, chunk.Offset, chunk.Length, XxHash3.HashToUInt64(chunk.Data)))
                {
                    progress.AddUnchanged(chunk.Length);
                    continue;
                }
                frame = Encode(chunk.Disk, chunk.Offset, chunk.Data);
            }
            try
            {
                await output.WriteAsync(frame, ct);
            }
            catch
            {
                frame.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Incremental: hashes each region of the chunk and sends the runs of regions whose hash differs
    /// from what the receiver holds, one frame per run; the rest counts as done without a byte sent.
    /// </summary>
    private async Task EncodeChangedAsync(RawChunk chunk, ChannelWriter<EncodedFrame> output, CancellationToken ct)
    {
        var frames = new List<EncodedFrame>();
        using (chunk)
        {
            var data = chunk.Data;
            var held = chunk.Held!;
            var regions = (data.Length + RegionDigest.RegionBytes - 1) / RegionDigest.RegionBytes;
            var runStart = -1;
            // One step past the last region closes a run that reaches the end of the chunk.
            for (var i = 0; i <= regions; i++)
            {
                var start = i * RegionDigest.RegionBytes;
                var changed = i < regions && IsChanged(data[start..Math.Min(data.Length, start + RegionDigest.RegionBytes)], held[i]);
                if (changed && runStart < 0)
                {
                    runStart = start;
                }
                else if (!changed && runStart >= 0)
                {
                    frames.Add(Encode(chunk.Disk, chunk.Offset + runStart, data[runStart..Math.Min(start, data.Length)]));
                    runStart = -1;
                }
            }
            progress.AddUnchanged(data.Length - frames.Sum(f => (long)f.Header.Length));
        }
        for (var i = 0; i < frames.Count; i++)
        {
            try
            {
                await output.WriteAsync(frames[i], ct);
            }
            catch
            {
                foreach (var f in frames.Skip(i))
                {
                    f.Dispose();
                }
                throw;
            }
        }
    }

    /// <summary>Whether the receiver holds other bytes for this region than <paramref name="region"/> (or nothing known).</summary>
    private static bool IsChanged(ReadOnlySpan<byte> region, UInt128 held) => held == RegionDigest.Unknown || held != RegionDigest.Hash(region);

    private EncodedFrame Encode(uint disk, long offset, ReadOnlySpan<byte> data)
    {
        var frame = BlockEncoder.Encode(disk, offset, data, Level, out var checksum);
        if (options.RecordHashes)
        {
            var list = _sent[disk];
            lock (list)
            {
                list.Add(new SentRange(offset, data.Length, checksum));
            }
        }
        return frame;
    }

    private async Task SendAll(DataChannelClient client, ChannelReader<EncodedFrame> input, Dictionary<uint, DiskSource> disks,
        CancellationToken ct)
    {
        long sinceCheckpoint = 0;
        await foreach (var frame in input.ReadAllAsync(ct))
        {
            using (frame)
            {
                await SendOne(client, frame, ct);
                sinceCheckpoint += frame.Header.Length;
            }
            if (sinceCheckpoint >= options.CheckpointBytes)
            {
                // The receiver's answer marks the chunks durable; the transfer does not wait for it.
                await client.RequestFlushAsync(ct);
                sinceCheckpoint = 0;
            }
        }

        // Everything is sent; flush, and send again whatever the receiver rejected as damaged meanwhile.
        var attempts = new Dictionary<(uint, ulong), int>();
        await client.FlushAsync(ct);
        for (var rejected = client.TakeRejected(); rejected.Count > 0; rejected = client.TakeRejected())
        {
            foreach (var r in rejected)
            {
                var key = (r.Disk, r.Offset);
                var n = attempts[key] = attempts.GetValueOrDefault(key) + 1;
                if (n > options.MaxResendsPerRange || !disks.TryGetValue(r.Disk, out var disk))
                {
                    throw new FerryException(ErrorCode.FrameCorrupt,
                        $"disk {r.Disk} offset {r.Offset}: the receiver rejected this range as damaged {n} times",
                        "Data is being corrupted between source and receiver; check the network path (NICs, proxies).");
                }
                using var chunk = RawChunk.Read(disk, new ByteRange((long)r.Offset, r.Length), digest: null);
                using var frame = BlockEncoder.Encode(chunk.Disk, chunk.Offset, chunk.Data, Level, out _);
                await SendOne(client, frame, ct);
                progress.AddResent();
            }
            await client.FlushAsync(ct);
        }
    }

    private int Level => options.Control?.CompressionLevel ?? options.CompressionLevel;

    private async Task SendOne(DataChannelClient client, EncodedFrame frame, CancellationToken ct)
    {
        if (options.Control is { } control)
        {
            await control.WaitWhilePausedAsync(ct);
        }
        if ((options.Control is null ? options.RateLimit : options.Control.RateLimit) is { } bucket)
        {
            await bucket.WaitAsync(frame.WireBytes, ct);
        }
        await client.SendAsync(frame, ct);
        progress.AddSent(frame.Header.Length, frame.WireBytes);
    }

    /// <summary>Cancels the other stages as soon as one fails, so a failure is reported, not waited out.</summary>
    private static async Task Guard(Task task, CancellationTokenSource failed)
    {
        try
        {
            await task;
        }
        catch
        {
            await failed.CancelAsync();
            throw;
        }
    }

    /// <summary>Waits for all tasks and rethrows the first real failure rather than a resulting cancellation.</summary>
    private static async Task WhenAllFirstError(Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch
        {
            var failures = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.GetBaseException()).ToList();
            var real = failures.FirstOrDefault(e => e is not OperationCanceledException);
            if (real is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(real);
            }
            throw;
        }
    }

    /// <summary>Source bytes read into a pooled buffer, aligned so that a block device is read past its page cache.</summary>
    private sealed class RawChunk : IDisposable
    {
        private AlignedBuffer? _buffer;

        private RawChunk(uint disk, long offset, AlignedBuffer buffer, int length, UInt128[]? held)
        {
            Disk = disk;
            Offset = offset;
            _buffer = buffer;
            Length = length;
            Held = held;
        }

        /// <summary>Incremental: the hashes the receiver holds for the chunk's regions (pooled, so it may be longer).</summary>
        public UInt128[]? Held { get; private set; }

        public uint Disk { get; }

        public long Offset { get; }

        public int Length { get; }

        public ReadOnlySpan<byte> Data => _buffer!.Span[..Length];

        /// <param name="digest">Incremental: where the hashes of what the receiver holds are read (only for chunks that start on a region).</param>
        public static RawChunk Read(DiskSource disk, ByteRange range, IRegionDigest? digest)
        {
            var length = checked((int)range.Length);
            var buffer = AlignedBuffer.Rent(length);
            UInt128[]? held = null;
            try
            {
                disk.Reader.ReadExactly(buffer.Span[..length], range.Offset);
                if (digest is not null && range.Offset % RegionDigest.RegionBytes == 0)
                {
                    var regions = (length + RegionDigest.RegionBytes - 1) / RegionDigest.RegionBytes;
                    held = ArrayPool<UInt128>.Shared.Rent(regions);
                    digest.Read(disk.Index, range.Offset / RegionDigest.RegionBytes, held.AsSpan(0, regions));
                }
                return new RawChunk(disk.Index, range.Offset, buffer, length, held);
            }
            catch
            {
                buffer.Dispose();
                if (held is not null)
                {
                    ArrayPool<UInt128>.Shared.Return(held);
                }
                throw;
            }
        }

        public void Dispose()
        {
            _buffer?.Dispose();
            _buffer = null;
            if (Held is not null)
            {
                ArrayPool<UInt128>.Shared.Return(Held);
                Held = null;
            }
        }
    }
}
