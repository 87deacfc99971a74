using System.IO.Hashing;
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
/// </summary>
internal sealed class FileFrameHandler(ReceiveSession session, FrameWriter writer, ILogger logger) : IDisposable
{
    private readonly Dictionary<uint, (TreeTarget Target, TreeApplier Applier)> _trees = [];

    public static bool Handles(FrameType type) =>
        type is FrameType.Entry or FrameType.FileData or FrameType.Delta or FrameType.FileEnd or FrameType.DirEnd or FrameType.TreeEnd;

    public async Task HandleAsync(Frame frame, CancellationToken ct)
    {
        var h = frame.Header;
        var applier = Applier(h.Disk);
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
                    var checksum = XxHash3.HashToUInt64(need.Signature);
                    await writer.WriteControlAsync(new FrameHeader(FrameType.Need, FrameFlags.None, h.Disk, (uint)need.BlockSize, (ulong)need.Kind, h.Sequence,
                        checksum, 0), need.Signature, ct);
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

    public void Dispose()
    {
        foreach (var (target, _) in _trees.Values)
        {
            target.Release(complete: false);
        }
        _trees.Clear();
    }
}
