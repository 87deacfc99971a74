using System.Collections.Concurrent;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;

namespace Ferry.Transfer.Blocks;

/// <summary>
/// The agent's end of one data connection: writes frames and, in the background, reads the
/// receiver's answers (Nack for a frame that arrived damaged, FlushAck, Error). For a block transfer
/// it remembers which chunks each Flush covers, so that its FlushAck marks them durable in
/// <see cref="DurablePositions"/> (all but those the receiver refused as damaged).
/// </summary>
public sealed class DataChannelClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly FrameWriter _writer;
    private readonly FrameReader _reader;
    private readonly ConcurrentQueue<FrameHeader> _nacks = new();
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource> _flushes = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _readLoop;
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<Frame>? _onFileFrame;
    private readonly DurablePositions? _positions;
    private readonly Lock _inFlightLock = new();
    private readonly Queue<(ulong Sequence, uint Disk, long Offset)> _inFlight = new();
    private readonly HashSet<ulong> _refused = [];
    private volatile FerryException? _failure;
    private long _sequence;

    private DataChannelClient(Stream stream, Action<Frame>? onFileFrame, DurablePositions? positions)
    {
        _stream = stream;
        _onFileFrame = onFileFrame;
        _positions = positions;
        // File replication sends many small frames: gather them (PushAsync sends what is gathered).
        _writer = new FrameWriter(stream, onFileFrame is null ? 0 : 256 << 10);
        // The receiver's answers are small frames, many per packet: read them many at a time, not one call each.
        _reader = new FrameReader(stream, 64 << 10);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Opens a connection with <paramref name="connect"/> and proves the session's token on it (<see cref="DataHandshake"/>).</summary>
    /// <param name="onFileFrame">File replication: gets the receiver's Need, FileAck and TreeAck frames (valid during the call).</param>
    /// <param name="positions">Block replication: where acknowledged chunks are marked durable.</param>
    public static async Task<DataChannelClient> OpenAsync(Func<CancellationToken, Task<Stream>> connect, SessionCredentials credentials,
        CancellationToken cancellationToken, Action<Frame>? onFileFrame = null, DurablePositions? positions = null)
    {
        var stream = await connect(cancellationToken);
        try
        {
            var challenge = await ReadChallengeAsync(stream, cancellationToken);
            var client = new DataChannelClient(stream, onFileFrame, positions);
            await client._writer.WriteControlAsync(new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, 0),
                DataHandshake.Hello(credentials.Key, challenge, credentials.SessionId), cancellationToken);
            return client;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private static FerryException ErrorFrom(Frame frame)
    {
        var (code, message) = FrameWriter.ParseError(frame.Payload);
        return new FerryException(ErrorCodes.Parse(code), "receiver: " + message);
    }

    /// <summary>The receiver's first frame: its challenge, or an Error saying why it will not talk.</summary>
    private static async Task<byte[]> ReadChallengeAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        Frame? frame;
        try
        {
            // Unbuffered: nothing past this frame is read here; the connection's reader takes over after it.
            frame = await new FrameReader(stream).ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FerryException(ErrorCode.NotFerry, "the data port answered nothing within 30 s; it is not a Ferry receiver",
                "Check the receiver's address and data port.");
        }
        using (frame)
        {
            return frame?.Header.Type switch
            {
                FrameType.Challenge => frame.Payload.ToArray(),
                FrameType.Error => throw ErrorFrom(frame),
                _ => throw new FerryException(ErrorCode.NotFerry, "the data port did not open with a Ferry challenge; it is not a Ferry receiver",
                    "Check the receiver's address and data port."),
            };
        }
    }

    /// <summary>Completes (never faults) when the connection has failed; <see cref="ThrowIfFailed"/> then says why.</summary>
    public Task Failed => _failed.Task;

    /// <summary>Sends a block frame (Data or Zero); its chunk is durable once a later Flush is acknowledged.</summary>
    public ValueTask SendAsync(EncodedFrame frame, CancellationToken cancellationToken)
    {
        var sequence = (ulong)Interlocked.Increment(ref _sequence);
        if (_positions is not null)
        {
            lock (_inFlightLock)
            {
                _inFlight.Enqueue((sequence, frame.Header.Disk, (long)frame.Header.Offset));
            }
        }
        return SendAsync(frame.Header with { Sequence = sequence }, frame.Buffer, cancellationToken);
    }

    /// <summary>Sends a frame whose sequence field means something of its own (a file id).</summary>
    public ValueTask SendAsIsAsync(EncodedFrame frame, CancellationToken cancellationToken) => SendAsync(frame.Header, frame.Buffer, cancellationToken);

    /// <summary>Sends a frame with a small payload (entries, file and directory ends).</summary>
    public ValueTask SendControlAsync(FrameHeader header, ReadOnlySpan<byte> payload, CancellationToken cancellationToken)
    {
        var buffer = new byte[FrameHeader.Size + payload.Length];
        payload.CopyTo(buffer.AsSpan(FrameHeader.Size));
        return SendAsync(header with { PayloadLength = (uint)payload.Length }, buffer, cancellationToken);
    }

    /// <summary>Pushes buffered frames onto the wire (the receiver answers entries only once it has them).</summary>
    public async Task PushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _writer.FlushAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw await BrokenAsync(e);
        }
    }

    private async ValueTask SendAsync(FrameHeader header, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        try
        {
            await _writer.WriteAsync(header, buffer, cancellationToken);
        }
        catch (IOException e)
        {
            throw await BrokenAsync(e);
        }
    }

    /// <summary>Why a write failed: the receiver may have said why before it closed, and its Error frame beats "broken pipe".</summary>
    private async Task<FerryException> BrokenAsync(IOException e)
    {
        await Task.WhenAny(_readLoop, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
        return _failure ?? new FerryException(ErrorCode.ReceiverUnreachable, "the data connection to the receiver broke: " + e.Message,
            "Check the network between source and receiver.", e);
    }

    /// <summary>Sends a Flush and waits until the receiver says everything before it is durable.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var acknowledged = await RequestFlushAsync(cancellationToken);
        await acknowledged.WaitAsync(cancellationToken);
        ThrowIfFailed();
    }

    /// <summary>
    /// Sends a Flush without waiting for its answer: the returned task completes when the receiver has
    /// made everything sent before it durable (or the connection failed). A checkpoint of a block transfer.
    /// </summary>
    public async Task<Task> RequestFlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        var seq = (ulong)Interlocked.Increment(ref _sequence);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _flushes[seq] = done;
        try
        {
            await _writer.WriteControlAsync(new FrameHeader(FrameType.Flush, FrameFlags.None, 0, 0, 0, seq, 0, 0), [], cancellationToken);
            await _writer.FlushAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw await BrokenAsync(e);
        }
        return done.Task;
    }

    /// <summary>The ranges the receiver rejected as damaged since the last call, to be read and sent again.</summary>
    public List<FrameHeader> TakeRejected()
    {
        var taken = new List<FrameHeader>();
        while (_nacks.TryDequeue(out var header))
        {
            taken.Add(header);
        }
        return taken;
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                using var frame = await _reader.ReadAsync(_closing.Token);
                if (frame is null)
                {
                    Fail(new FerryException(ErrorCode.ReceiverUnreachable, "the receiver closed the data connection",
                        "Check the receiver's log; the connection may have been cut."));
                    return;
                }
                switch (frame.Header.Type)
                {
                    case FrameType.Nack:
                        lock (_inFlightLock)
                        {
                            _refused.Add(frame.Header.Sequence);
                        }
                        _nacks.Enqueue(frame.Header);
                        break;
                    case FrameType.FlushAck:
                        MarkDurable(frame.Header.Sequence);
                        if (_flushes.TryRemove(frame.Header.Sequence, out var done))
                        {
                            done.TrySetResult();
                        }
                        break;
                    case FrameType.Need or FrameType.FileAck or FrameType.TreeAck when _onFileFrame is not null:
                        _onFileFrame(frame);
                        break;
                    case FrameType.Error:
                        Fail(ErrorFrom(frame));
                        return;
                    default:
                        Fail(new ProtocolException($"unexpected {frame.Header.Type} frame from the receiver"));
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (FerryException e)
        {
            Fail(e);
        }
        catch (IOException e)
        {
            Fail(new FerryException(ErrorCode.ReceiverUnreachable, "the data connection to the receiver broke: " + e.Message,
                "Check the network between source and receiver.", e));
        }
    }

    /// <summary>The receiver answers in order: every chunk sent before Flush <paramref name="flush"/> and not refused is durable.</summary>
    private void MarkDurable(ulong flush)
    {
        if (_positions is null)
        {
            return;
        }
        lock (_inFlightLock)
        {
            while (_inFlight.TryPeek(out var sent) && sent.Sequence < flush)
            {
                _inFlight.Dequeue();
                if (!_refused.Remove(sent.Sequence))
                {
                    _positions.Durable(sent.Disk, sent.Offset);
                }
            }
        }
    }

    private void Fail(FerryException e)
    {
        _failure ??= e;
        _failed.TrySetResult();
        foreach (var pending in _flushes.Values)
        {
            pending.TrySetResult();
        }
    }

    public void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw failure;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _stream.DisposeAsync();
        try
        {
            await _readLoop;
        }
        catch (Exception) when (_closing.IsCancellationRequested)
        {
            // The read loop ends with whatever the closed stream throws; the connection is done either way.
        }
        _writer.Dispose();
        _closing.Dispose();
    }
}
