using System.IO.Hashing;
using System.Runtime.ExceptionServices;
using Ferry.Receiver.Files;
using Ferry.Receiver.Layout;
using Ferry.Receiver.Sessions;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Channels;

/// <summary>
/// The file-replication frames of one data connection: entries, file data, deltas, file, directory
/// and tree ends. Each tree is applied by at most one connection; a connection that ends before its
/// tree does leaves the tree incomplete, and the session cannot finish until a new connection sends it.
/// A changed file's old copy is read for its signature on a worker, <see cref="Signers"/> at once, while the
/// entries behind it go on; its Need frame goes out when the signature is ready.
/// </summary>
internal sealed class FileFrameHandler(ReceiveSession session, FrameWriter writer, ILogger logger, CancellationToken connection) : IAsyncDisposable
{
    private const int Signers = 4;

    private readonly Dictionary<uint, (TreeTarget Target, TreeApplier Applier)> _trees = [];
    private readonly SemaphoreSlim _signers = new(Signers);

    /// <summary>Files whose signature is being read: the agent has not been asked for anything of theirs yet.</summary>
    private readonly HashSet<ulong> _signing = [];
    private readonly CancellationTokenSource _abort = CancellationTokenSource.CreateLinkedTokenSource(connection);
    private ExceptionDispatchInfo? _failure;

    /// <summary>Cancelled when a signature could not be read or sent: the connection must end, with <see cref="ThrowIfFailed"/>'s error.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Throws what made a signature worker fail, if one did.</summary>
    public void ThrowIfFailed() => _failure?.Throw();

    public static bool Handles(FrameType type) =>
        type is FrameType.Entry or FrameType.FileData or FrameType.Delta or FrameType.FileEnd or FrameType.DirEnd or FrameType.TreeEnd;

    public async Task HandleAsync(Frame frame, CancellationToken ct)
    {
        ThrowIfFailed();
        var h = frame.Header;
        var applier = Applier(h.Disk);
        if (h.Type is FrameType.FileData or FrameType.Delta or FrameType.FileEnd && IsSigning(h.Sequence))
        {
            throw new ProtocolException($"file {h.Sequence}'s data or end came before the receiver said what it needs");
        }
        switch (h.Type)
        {
            case FrameType.Entry:
                FileEntry entry;
                try
                {
                    entry = FileEntry.Parser.ParseFrom(frame.Payload);
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new ProtocolException("a file entry does not parse: " + e.Message);
                }
                if (applier.Apply(entry, h.Sequence, TreeIndex.HashOf(frame.Payload)) is { } need)
                {
                    if (need.Basis is null)
                    {
                        await SendNeedAsync(h.Disk, h.Sequence, need, [], ct);
                    }
                    else
                    {
                        await SignAsync(h.Disk, h.Sequence, need, ct);
                    }
                }
                return;
            case FrameType.FileData:
            case FrameType.Delta:
                {
                    if (!PayloadCodec.TryDecode(frame, out var rented, out var data))
                    {
                        session.CountRejected();
                        Log.FrameRejected(logger, session.LogId, h.Disk, h.Offset);
                        applier.MarkDamaged(h.Sequence);
                        return;
                    }
                    try
                    {
                        if (h.Type == FrameType.FileData)
                        {
                            applier.Write(h.Sequence, (long)h.Offset, data);
                        }
                        else
                        {
                            applier.ApplyDelta(h.Sequence, data);
                        }
                        session.CountWritten(h.Length);
                    }
                    finally
                    {
                        PayloadCodec.Return(rented);
                    }
                    return;
                }
            case FrameType.FileEnd:
                var placed = applier.End(h.Sequence, checked((long)h.Offset), h.Checksum, vanished: h.Length == 1);
                await writer.WriteControlAsync(new FrameHeader(FrameType.FileAck, FrameFlags.None, h.Disk, 0, placed ? 0UL : 1UL, h.Sequence, 0, 0), [], ct);
                return;
            case FrameType.DirEnd:
                applier.EndDirectory(frame.Payload);
                return;
            default:
                applier.EndTree();
                var (target, _) = _trees[h.Disk];
                _trees.Remove(h.Disk);
                var stats = applier.Stats;
                target.Release(complete: true);
                Log.TreeApplied(logger, session.LogId, h.Disk, stats.Entries, stats.FilesWritten, stats.Unchanged, stats.Deleted, stats.Resent);
                await writer.WriteControlAsync(new FrameHeader(FrameType.TreeAck, FrameFlags.None, h.Disk, 0, (ulong)stats.Entries, 0, 0, 0), [], ct);
                await writer.FlushAsync(ct);
                return;
        }
    }

    private ValueTask SendNeedAsync(uint tree, ulong id, FileNeed need, byte[] signature, CancellationToken ct) =>
        writer.WriteControlAsync(new FrameHeader(FrameType.Need, FrameFlags.None, tree, (uint)need.BlockSize, (ulong)need.Kind, id,
            XxHash3.HashToUInt64(signature), 0), signature, ct);

    /// <summary>Reads the old copy's signature on a worker and sends it as the file's Need (flushed: the loop may be waiting to read).</summary>
    private async Task SignAsync(uint tree, ulong id, FileNeed need, CancellationToken ct)
    {
        await _signers.WaitAsync(ct);
        lock (_signing)
        {
            _signing.Add(id);
        }
        _ = Task.Run(async () =>
        {
            try
            {
                var signature = need.Sign();
                lock (_signing)
                {
                    _signing.Remove(id);
                }
                await SendNeedAsync(tree, id, need, signature, _abort.Token);
                await writer.FlushAsync(_abort.Token);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                await _abort.CancelAsync();
            }
            finally
            {
                _signers.Release();
            }
        }, CancellationToken.None);
    }

    private bool IsSigning(ulong id)
    {
        lock (_signing)
        {
            return _signing.Contains(id);
        }
    }

    private TreeApplier Applier(uint tree)
    {
        if (_trees.TryGetValue(tree, out var open))
        {
            return open.Applier;
        }
        if (session.Layout is null || !session.Layout.Trees.TryGetValue(tree, out var target))
        {
            throw new ProtocolException($"frame names tree {tree}, which is not part of the session's layout");
        }
        var applier = target.Begin(logger);
        _trees[tree] = (target, applier);
        return applier;
    }

    public async ValueTask DisposeAsync()
    {
        // The workers read old copies the trees' files hold open: they end (or fail, cancelled) before the trees are let go.
        await _abort.CancelAsync();
        for (var i = 0; i < Signers; i++)
        {
            await _signers.WaitAsync(CancellationToken.None);
        }
        _signers.Dispose();
        _abort.Dispose();
        foreach (var (target, _) in _trees.Values)
        {
            target.Release(complete: false);
        }
        _trees.Clear();
    }
}
