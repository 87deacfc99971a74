using System.Collections.Concurrent;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;

namespace Ferry.Transfer.Blocks;

/// <summary>
/// The agent's end of one data connection: writes frames and, in the background, reads the
/// receiver's answers (Nack for a frame that arrived damaged, FlushAck, Error).
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
    private volatile FerryException? _failure;
    private long _sequence;

    private DataChannelClient(Stream stream)
    {
        _stream = stream;
        _writer = new FrameWriter(stream);
        _reader = new FrameReader(stream);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Opens a connection with <paramref name="connect"/> and introduces the session on it.</summary>
    public static async Task<DataChannelClient> OpenAsync(Func<CancellationToken, Task<Stream>> connect, ReadOnlyMemory<byte> sessionId,
        CancellationToken cancellationToken)
    {
        var stream = await connect(cancellationToken);
        var client = new DataChannelClient(stream);
        await client._writer.WriteControlAsync(new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, 0), sessionId.Span, cancellationToken);
        return client;
    }

    public async ValueTask SendAsync(EncodedFrame frame, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        var header = frame.Header with { Sequence = (ulong)Interlocked.Increment(ref _sequence) };
        try
        {
            await _writer.WriteAsync(header, frame.Buffer, cancellationToken);
        }
        catch (IOException e)
        {
            // The receiver may have said why before it closed: its Error frame beats "broken pipe".
            await Task.WhenAny(_readLoop, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
            ThrowIfFailed();
            throw new FerryException(ErrorCode.ReceiverUnreachable, "the data connection to the receiver broke: " + e.Message,
                "Check the network between source and receiver.", e);
        }
    }

    /// <summary>Sends a Flush and waits until the receiver says everything before it is durable.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        var seq = (ulong)Interlocked.Increment(ref _sequence);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _flushes[seq] = done;
        await _writer.WriteControlAsync(new FrameHeader(FrameType.Flush, FrameFlags.None, 0, 0, 0, seq, 0, 0), [], cancellationToken);
        await _writer.FlushAsync(cancellationToken);
        await done.Task.WaitAsync(cancellationToken);
        ThrowIfFailed();
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
                        _nacks.Enqueue(frame.Header);
                        break;
                    case FrameType.FlushAck:
                        if (_flushes.TryRemove(frame.Header.Sequence, out var done))
                        {
                            done.TrySetResult();
                        }
                        break;
                    case FrameType.Error:
                        var (code, message) = FrameWriter.ParseError(frame.Payload);
                        Fail(new FerryException(ErrorCodes.Parse(code), "receiver: " + message));
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

    private void Fail(FerryException e)
    {
        _failure ??= e;
        foreach (var pending in _flushes.Values)
        {
            pending.TrySetResult();
        }
    }

    private void ThrowIfFailed()
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
