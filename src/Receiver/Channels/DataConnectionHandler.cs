using Ferry.Receiver.Sessions;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Channels;

/// <summary>
/// Handles one data connection (port 8703). Nothing is believed before it is checked: the first
/// frame must be a Hello naming an open session and proving its job's token against this
/// connection's challenge (<see cref="DataHandshake"/>) within the hello timeout; every Data and Zero
/// frame must name a disk of that session and lie within its bounds; a Data frame whose bytes do
/// not hash to its checksum is refused with a Nack and never written.
/// </summary>
public sealed class DataConnectionHandler(SessionRegistry sessions, ILogger logger)
{
    /// <summary>About 170 answers (Need, FileAck) of 48 bytes.</summary>
    private const int AnswerBatchBytes = 8 << 10;

    /// <param name="encrypted">Whether the connection runs over TLS; a cleartext one is refused for a session whose job requires TLS.</param>
    /// <param name="helloTimeout">What is left of the time the connection has to prove its token.</param>
    public async Task HandleAsync(Stream stream, System.Net.IPEndPoint? remoteEndpoint, bool encrypted, TimeSpan helloTimeout, CancellationToken stopping)
    {
        var remote = remoteEndpoint?.ToString() ?? "?";
        // Answers are gathered and sent whenever the next read might wait for the agent.
        using var writer = new FrameWriter(stream, 64 << 10);
        var reader = new FrameReader(stream, 256 << 10);
        ReceiveSession? session = null;
        try
        {
            // Nothing the connection sends is looked at until it has answered this.
            var challenge = DataHandshake.NewChallenge();
            await writer.WriteControlAsync(new FrameHeader(FrameType.Challenge, FrameFlags.None, 0, 0, 0, 0, 0, 0), challenge, stopping);
            await writer.FlushAsync(stopping);
            session = await ReadHelloAsync(reader, challenge, helloTimeout, sessions, stopping);
            if (!encrypted && !session.AllowsCleartextFrom(remoteEndpoint?.Address))
            {
                throw new FerryException(ErrorCode.TlsRequired, "this job's data must travel encrypted, and the connection is cleartext; connect with TLS");
            }
            await using var files = new FileFrameHandler(session, writer, logger, stopping);
            while (true)
            {
                // Also once a batch of answers is gathered: the agent waits for them to announce more files, and would
                // otherwise sit idle while this side works through all it sent.
                if (writer.HasPending && (reader.BufferedBytes < FrameHeader.Size || writer.PendingBytes >= AnswerBatchBytes))
                {
                    await writer.FlushAsync(stopping);
                }
                using var frame = await ReadAsync(reader, files);
                if (frame is null)
                {
                    return;
                }
                if (FileFrameHandler.Handles(frame.Header.Type))
                {
                    await files.HandleAsync(frame, stopping);
                }
                else
                {
                    await HandleFrameAsync(session, frame, writer, stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (FerryException e)
        {
            Log.DataConnectionClosed(logger, remote, ErrorCodes.Name(e.Code), e.Message);
            await TrySendErrorAsync(writer, e.Code, e.Message);
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e is EndOfStreamException)
        {
            Log.DataConnectionClosed(logger, remote, "E_RECEIVER_UNREACHABLE", e.Message);
        }
        catch (IOException e)
        {
            // A write to the target failed: the disk is full or broken. Tell the agent why.
            var (code, message) = IsNoSpace(e)
                ? (ErrorCode.ReceiverNoSpace, NoSpaceMessage(session, e))
                : (ErrorCode.ReceiverWrite, "writing the target failed: " + e.Message);
            Log.DataConnectionClosed(logger, remote, ErrorCodes.Name(code), message);
            await TrySendErrorAsync(writer, code, message);
        }
    }

    /// <summary>The next frame; a signature worker that failed ends the wait, with its error.</summary>
    private static async Task<Frame?> ReadAsync(FrameReader reader, FileFrameHandler files)
    {
        try
        {
            return await reader.ReadAsync(files.Aborted);
        }
        catch (OperationCanceledException)
        {
            files.ThrowIfFailed();
            throw;
        }
    }

    private static async Task<ReceiveSession> ReadHelloAsync(FrameReader reader, byte[] challenge, TimeSpan helloTimeout, SessionRegistry sessions, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(helloTimeout > TimeSpan.Zero ? helloTimeout : TimeSpan.FromMilliseconds(1));
        Frame? hello;
        try
        {
            hello = await reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new FerryException(ErrorCode.Protocol, "no Hello frame within the hello timeout");
        }
        using (hello)
        {
            if (hello is null || hello.Header.Type != FrameType.Hello)
            {
                throw new ProtocolException("a data connection must start with a Hello frame");
            }
            if (sessions.Find(hello.Payload[..DataHandshake.SessionIdBytes]) is not { Finished: false } session)
            {
                throw new FerryException(ErrorCode.SessionUnknown, "the data connection names no open session");
            }
            return DataHandshake.Verify(session.TokenKey, challenge, hello.Payload)
                ? session
                : throw new FerryException(ErrorCode.AuthFailed, "the data connection did not prove the token of the job that opened the session");
        }
    }

    private async Task HandleFrameAsync(ReceiveSession session, Frame frame, FrameWriter writer, CancellationToken ct)
    {
        var h = frame.Header;
        switch (h.Type)
        {
            case FrameType.Data:
                {
                    var target = CheckBounds(session, h);
                    if (!TryWrite(target, frame))
                    {
                        session.CountRejected();
                        Log.FrameRejected(logger, session.LogId, h.Disk, h.Offset);
                        await writer.WriteControlAsync(new FrameHeader(FrameType.Nack, FrameFlags.None, h.Disk, h.Length, h.Offset, h.Sequence, 0, 0), [], ct);
                        return;
                    }
                    session.CountWritten(h.Length);
                    return;
                }
            case FrameType.Zero:
                CheckBounds(session, h).WriteZeros((long)h.Offset, h.Length);
                session.CountWritten(h.Length);
                return;
            case FrameType.Flush:
                session.FlushAll();
                await writer.WriteControlAsync(new FrameHeader(FrameType.FlushAck, FrameFlags.None, 0, 0, 0, h.Sequence, 0, 0), [], ct);
                await writer.FlushAsync(ct);
                return;
            default:
                throw new ProtocolException($"a {h.Type} frame is not expected from an agent");
        }
    }

    /// <summary>Decodes and checks the payload, then writes it; false when it is damaged (nothing written).</summary>
    private static bool TryWrite(Targets.IDiskTarget target, Frame frame)
    {
        if (!PayloadCodec.TryDecode(frame, out var rented, out var data))
        {
            PayloadCodec.Return(rented);
            return false;
        }
        try
        {
            target.Write((long)frame.Header.Offset, data);
            return true;
        }
        finally
        {
            PayloadCodec.Return(rented);
        }
    }

    private static Targets.IDiskTarget CheckBounds(ReceiveSession session, FrameHeader h)
    {
        if (!session.Targets.TryGetValue(h.Disk, out var target))
        {
            throw new ProtocolException($"frame names disk {h.Disk}, which is not part of the session");
        }
        if (h.Offset > (ulong)target.SizeBytes || h.Length > (ulong)target.SizeBytes - h.Offset)
        {
            throw new ProtocolException($"frame for disk {h.Disk} at {h.Offset} (+{h.Length}) lies outside the disk's {target.SizeBytes} bytes");
        }
        return target;
    }

    private static async Task TrySendErrorAsync(FrameWriter writer, ErrorCode code, string message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await writer.WriteControlAsync(new FrameHeader(FrameType.Error, FrameFlags.None, 0, 0, 0, 0, 0, 0),
                FrameWriter.ErrorPayload(ErrorCodes.Name(code), message), timeout.Token);
            await writer.FlushAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer is gone; the error is in our log.
        }
    }

    /// <summary>Says where the receiver ran out of room and about how much more this session needs (its plan less what its images hold).</summary>
    private static string NoSpaceMessage(ReceiveSession? session, IOException e)
    {
        if (session is null || session.Targets.Values.FirstOrDefault() is not { } target || session.PlannedBytes == 0)
        {
            return "writing the target failed: " + e.Message;
        }
        var directory = Path.GetDirectoryName(target.Path) ?? "/";
        var needed = Math.Max(1, Transfer.ByteSize.MibRoundedUp(session.PlannedBytes - session.AllocatedBytes));
        var free = Transfer.ByteSize.MibRoundedUp(Disks.Interop.FilesystemSpace.FreeBytesAt(directory));
        return $"the receiver's disk is full: {directory} has {free} MiB free, and this migration needs about {needed} MiB more; " +
            "free that much space there, then retry (what was written is kept)";
    }

    private static bool IsNoSpace(IOException e) => (e.HResult & 0xFFFF) == 28 || e.Message.Contains("No space left", StringComparison.Ordinal);
}
