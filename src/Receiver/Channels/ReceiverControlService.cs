using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using Ferry.Disks.Interop;
using Ferry.Receiver.BootFixup;
using Ferry.Receiver.Hosting;
using Ferry.Receiver.Images;
using Ferry.Receiver.Layout;
using Ferry.Receiver.Sessions;
using Ferry.Receiver.Targets;
using Ferry.Transfer;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Files;
using Ferry.Transfer.Framing;
using Ferry.Transfer.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Channels;

/// <summary>The control channel (port 8080): open a session, verify what was written, finish.</summary>
public sealed class ReceiverControlService(ReceiverOptions options, SessionRegistry sessions, ILogger<ReceiverControlService> logger)
    : ReceiverControl.ReceiverControlBase
{
    private const int MaxDisks = 64;
    private const int MaxVerifyRanges = 65536;
    private const long MaxDiskBytes = 1L << 50;
    private const int MaxDigestRegions = 65536;

    public override async Task<OpenSessionReply> OpenSession(OpenSessionRequest request, ServerCallContext context)
    {
        var key = Authenticate(context);
        if (!ControlMetadata.IsSafeName(request.SourceName))
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, "the source name must be 1-64 letters, digits, '.', '_' or '-'");
        }
        if (sessions.IsHeldByAnotherJob(request.SourceName, key))
        {
            throw Refuse(ErrorCode.JobConflict, StatusCode.FailedPrecondition,
                $"another job's session for source {request.SourceName} is open on this receiver; cancel that job or wait for it to end");
        }
        if (request.Layout is not null)
        {
            return await OpenFileSessionAsync(request, key, context.CancellationToken);
        }
        if (request.Disks.Count is 0 or > MaxDisks
            || request.Disks.Select(d => d.Index).Distinct().Count() != request.Disks.Count
            || request.Disks.Select(d => d.Name).Distinct().Count() != request.Disks.Count)
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"a session needs 1 to {MaxDisks} disks with distinct indexes and names");
        }
        var format = CheckFormat(request);
        foreach (var d in request.Disks)
        {
            if (!ControlMetadata.IsSafeName(d.Name) || d.SizeBytes == 0 || d.SizeBytes > MaxDiskBytes
                || d.LogicalSectorSize is not (512 or 4096) || d.SizeBytes % d.LogicalSectorSize != 0 || d.PlannedBytes > d.SizeBytes)
            {
                throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"disk {d.Index} ({d.Name}) has an invalid name, size or sector size");
            }
        }

        var directory = Path.Combine(options.OutputDirectory, request.SourceName);
        var planned = request.Disks.Sum(d => (long)d.PlannedBytes);
        if (request.Incremental is not null)
        {
            return OpenCycle(request, key, directory, format, planned);
        }
        if (request.ResumeSessionId.Length == DataHandshake.SessionIdBytes && Resume(request, key, directory, format, planned) is { } resumed)
        {
            return resumed;
        }

        // Check the space before anything is created: a refused session leaves no trace.
        // Converting to qcow2, vmdk or vhdx writes the image beside the raw one before the raw one goes.
        CheckSpace(planned, format == ImageFormat.Raw ? 1 : 2, format);

        sessions.CloseSessionsOf(request.SourceName);
        SessionRecord.Delete(directory);
        var targets = new Dictionary<uint, IDiskTarget>();
        try
        {
            Directory.CreateDirectory(directory);
            foreach (var d in request.Disks)
            {
                targets[d.Index] = ImageFileTarget.Create(Path.Combine(directory, d.Name + ".raw"), (long)d.SizeBytes);
            }
        }
        catch (IOException e)
        {
            foreach (var t in targets.Values.OfType<ImageFileTarget>())
            {
                t.Discard();
            }
            throw Refuse(ErrorCode.ReceiverWrite, StatusCode.Internal, $"cannot create the target images in {directory}: {e.Message}");
        }

        var session = new ReceiveSession(RandomNumberGenerator.GetBytes(DataHandshake.SessionIdBytes), key, request.SourceName, targets, format)
        {
            Security = options.Token.SecurityOf(key),
            PlannedBytes = planned,
        };
        SessionRecord.Of(session, request.Disks).Save(directory);
        sessions.Add(session);
        Log.SessionOpened(logger, session.LogId, session.SourceName, targets.Count, planned);
        return Reply(session, targets.Select(kv => new DiskTarget { Index = kv.Key, Path = kv.Value.Path, CommittedBytes = 0 }));
    }

    /// <summary>
    /// One cycle of an incremental block job: opens the working images (created empty for the first
    /// cycle) with their digests. A cycle interrupted and opened again needs nothing more: what it
    /// wrote is in the digest, so the agent does not send it again.
    /// </summary>
    private OpenSessionReply OpenCycle(OpenSessionRequest request, byte[] key, string directory, string format, long planned)
    {
        CheckKeep(request);
        var keep = request.Incremental.Keep;
        // The session of an interrupted attempt closes first: that seals its digests.
        sessions.CloseSessionsOf(request.SourceName);
        var work = CycleStore.WorkDirectory(directory);
        var held = request.Disks.Select(d => Path.Combine(work, d.Name + ".raw")).Where(File.Exists).Sum(ImageFileTarget.AllocatedBytesOf);
        // The working images grow by what is new; the cycle's copy takes the data once more (twice while it is converted).
        CheckSpace(Math.Max(0, planned - held) + (planned * (format == ImageFormat.Raw ? 1 : 2)), 1, format);
        var targets = new Dictionary<uint, IDiskTarget>();
        var id = RandomNumberGenerator.GetBytes(DataHandshake.SessionIdBytes);
        try
        {
            Directory.CreateDirectory(work);
            foreach (var d in request.Disks)
            {
                var target = DigestedTarget.Open(Path.Combine(work, d.Name + ".raw"), (long)d.SizeBytes);
                targets[d.Index] = target;
                if (target.Digest.Rebuilt && held > 0)
                {
                    Log.DigestRebuilt(logger, Convert.ToHexStringLower(id)[..8], target.Path);
                }
            }
        }
        catch (IOException e)
        {
            foreach (var t in targets.Values)
            {
                t.Dispose();
            }
            throw Refuse(ErrorCode.ReceiverWrite, StatusCode.Internal, $"cannot open the working images in {work}: {e.Message}");
        }
        var session = new ReceiveSession(id, key, request.SourceName, targets, format)
        {
            Security = options.Token.SecurityOf(key),
            PlannedBytes = planned,
            Incremental = (CycleStore.Next(directory), (int)keep),
        };
        sessions.Add(session);
        Log.CycleOpened(logger, session.LogId, session.Incremental.Value.Cycle, session.SourceName, targets.Count, planned, (int)keep);
        var reply = Reply(session, targets.Select(kv => new DiskTarget { Index = kv.Key, Path = kv.Value.Path, CommittedBytes = (ulong)((DigestedTarget)kv.Value).AllocatedBytes }));
        reply.Cycle = (uint)session.Incremental.Value.Cycle;
        return reply;
    }

    private void CheckKeep(OpenSessionRequest request)
    {
        if (request.Incremental is { Keep: < 1 or > 100 } spec)
        {
            throw Refuse(ErrorCode.InvalidRequest, StatusCode.InvalidArgument, $"an incremental job keeps 1 to 100 images, not {spec.Keep}");
        }
    }

    /// <summary>
    /// Reopens the unfinished images of an interrupted block session, whether the session is still
    /// open (the agent lost its connections or was restarted) or only its record is left (the
    /// receiver was restarted). Null when there is nothing to resume: the images are gone, or the
    /// record names another session, token, format or set of disks; a new session then starts.
    /// </summary>
    private OpenSessionReply? Resume(OpenSessionRequest request, byte[] key, string directory, string format, long planned)
    {
        if (sessions.Find(request.ResumeSessionId.Span) is { } open)
        {
            if (!open.IsOwnedBy(key))
            {
                return null;
            }
            sessions.Remove(open);
            open.KeepsPartial = true;
            open.Dispose();
        }
        if (SessionRecord.Load(directory) is not { } record || !record.Matches(request.ResumeSessionId.Span, key, format, request.Disks))
        {
            return null;
        }
        var targets = new Dictionary<uint, IDiskTarget>();
        var reopened = false;
        try
        {
            foreach (var d in request.Disks)
            {
                if (ImageFileTarget.OpenPartial(Path.Combine(directory, d.Name + ".raw"), (long)d.SizeBytes) is not { } image)
                {
                    return null;
                }
                targets[d.Index] = image;
            }
            // What the images already hold needs no more room.
            var held = targets.Values.OfType<ImageFileTarget>().Sum(t => t.AllocatedBytes);
            CheckSpace(Math.Max(0, planned - held), format == ImageFormat.Raw ? 1 : 2, format);
            reopened = true;
        }
        finally
        {
            if (!reopened)
            {
                foreach (var t in targets.Values)
                {
                    t.Dispose();
                }
            }
        }
        var session = new ReceiveSession(request.ResumeSessionId.ToByteArray(), key, request.SourceName, targets, format)
        {
            Security = options.Token.SecurityOf(key),
            PlannedBytes = planned,
        };
        sessions.Add(session);
        Log.SessionResumed(logger, session.LogId, session.SourceName, targets.Count, session.AllocatedBytes);
        var reply = Reply(session, targets.Select(kv => new DiskTarget
        {
            Index = kv.Key,
            Path = kv.Value.Path,
            CommittedBytes = (ulong)((ImageFileTarget)kv.Value).AllocatedBytes,
        }));
        reply.Resumed = true;
        return reply;
    }

    /// <summary>File replication: validate the layout, then build (or mount again) the target disks.</summary>
    private async Task<OpenSessionReply> OpenFileSessionAsync(OpenSessionRequest request, byte[] key, CancellationToken ct)
    {
        if (request.Disks.Count > 0)
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, "a session carries either disks (block) or a layout (file), not both");
        }
        var format = CheckFormat(request);
        CheckKeep(request);
        try
        {
            LayoutRules.Validate(request.Layout);
        }
        catch (FerryException e)
        {
            throw Refuse(e.Code, StatusCode.InvalidArgument, e.Message);
        }
        var planned = request.Layout.Disks.SelectMany(d => d.Partitions).Sum(p => (long)(LayoutRules.IsBlock(p) ? p.SizeBytes : p.UsedBytes));
        CheckSpace(planned, 1, null);

        sessions.CloseSessionsOf(request.SourceName);
        var work = Path.Combine(options.OutputDirectory, request.SourceName, "work");
        TargetDisks disks;
        try
        {
            disks = await TargetDisks.PrepareAsync(work, request.Layout, logger, ct);
        }
        catch (IOException e)
        {
            throw Refuse(ErrorCode.ReceiverWrite, StatusCode.Internal, $"cannot build the target disks in {work}: {e.Message}");
        }
        var session = new ReceiveSession(RandomNumberGenerator.GetBytes(DataHandshake.SessionIdBytes), key, request.SourceName, disks.OpenBlockTargets(request.Layout), format, disks)
        {
            Security = options.Token.SecurityOf(key),
            // An incremental file job: the working copy is what later cycles sync into; each cycle's images are stored apart.
            Incremental = request.Incremental is { } spec ? (CycleStore.Next(Path.Combine(options.OutputDirectory, request.SourceName)), (int)spec.Keep) : null,
        };
        sessions.Add(session);
        Log.SessionOpened(logger, session.LogId, session.SourceName, request.Layout.Disks.Count, planned);
        var reply = Reply(session, disks.RawDisks.Select(d => new DiskTarget { Index = d.Index, Path = d.RawPath, CommittedBytes = (ulong)disks.CommittedBytes(d.RawPath) }));
        reply.NewDisks = !disks.Reused;
        return reply;
    }

    private static OpenSessionReply Reply(ReceiveSession session, IEnumerable<DiskTarget> targets)
    {
        var reply = new OpenSessionReply
        {
            SessionId = Google.Protobuf.ByteString.CopyFrom(session.Id),
            MaxFrameBytes = FrameHeader.MaxBlockBytes,
            ReceiverVersion = typeof(ReceiverControlService).Assembly.GetName().Version?.ToString() ?? "0",
        };
        reply.Targets.AddRange(targets);
        return reply;
    }

    private string CheckFormat(OpenSessionRequest request)
    {
        var format = request.ImageFormat.Length == 0 ? ImageFormat.Raw : request.ImageFormat;
        return ImageFormat.IsKnown(format) ? format : throw Refuse(ErrorCode.InvalidRequest, StatusCode.InvalidArgument,
            $"image format '{request.ImageFormat}' is not one of {string.Join(", ", ImageFormat.All)}");
    }

    /// <param name="copies">How many copies of the data the output holds at once (2 while a raw image is converted).</param>
    private void CheckSpace(long planned, int copies, string? format)
    {
        long free;
        try
        {
            // The output directory may have been removed since the receiver started; it is ours to recreate.
            Directory.CreateDirectory(options.OutputDirectory);
            free = FilesystemSpace.FreeBytesAt(options.OutputDirectory);
        }
        catch (IOException e)
        {
            throw Refuse(ErrorCode.ReceiverWrite, StatusCode.Internal, $"the receiver's output directory {options.OutputDirectory} is not usable: {e.Message}");
        }
        var needed = (planned * copies) + options.SpaceReserveBytes;
        if (needed > free)
        {
            var conversion = copies > 1 ? $", twice while it is converted to {format}," : "";
            throw Refuse(ErrorCode.TargetTooSmall, StatusCode.ResourceExhausted,
                $"the receiver's output directory {options.OutputDirectory} has {Mib(free)} MiB free, but this migration needs {Mib(needed)} MiB " +
                $"({Mib(planned)} MiB of data{conversion} plus {Mib(options.SpaceReserveBytes)} MiB reserve); free space there or give the receiver another --out, then run it again");
        }
    }

    public override Task<DigestReply> ReadDigest(DigestRequest request, ServerCallContext context)
    {
        var session = FindSession(request.SessionId, Authenticate(context));
        if (!session.Targets.TryGetValue(request.Disk, out var target) || target is not DigestedTarget digested)
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"disk {request.Disk} is not an incremental disk of this session");
        }
        if (request.Count is 0 or > MaxDigestRegions || request.FirstRegion >= (ulong)digested.Digest.Regions)
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"a digest read names 1 to {MaxDigestRegions} regions inside the disk");
        }
        return Task.FromResult(new DigestReply { Hashes = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(digested.Digest.Read((long)request.FirstRegion, (int)request.Count)) });
    }

    public override Task<VerifyReply> Verify(VerifyRequest request, ServerCallContext context)
    {
        var session = FindSession(request.SessionId, Authenticate(context));
        if (!session.Targets.TryGetValue(request.Disk, out var target))
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"disk {request.Disk} is not part of this session");
        }
        if (request.Ranges.Count > MaxVerifyRanges)
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"at most {MaxVerifyRanges} ranges per verify call");
        }

        session.FlushAll();
        if (target is ImageFileTarget image)
        {
            image.DropCache();
        }
        var reply = new VerifyReply();
        var buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxBlockBytes);
        try
        {
            foreach (var r in request.Ranges)
            {
                if (r.Length == 0 || r.Length > FrameHeader.MaxBlockBytes || r.Offset + r.Length > (ulong)target.SizeBytes)
                {
                    throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, $"verify range {r.Offset}+{r.Length} lies outside disk {request.Disk}");
                }
                var span = buffer.AsSpan(0, (int)r.Length);
                target.ReadBack((long)r.Offset, span);
                if (request.AgainstDigest ? !MatchesDigest(target, (long)r.Offset, span) : XxHash3.HashToUInt64(span) != r.Xxh3)
                {
                    Log.VerifyMismatch(logger, session.LogId, request.Disk, r.Offset, r.Length);
                    reply.Mismatched.Add(r);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Task.FromResult(reply);
    }

    /// <summary>
    /// Whether the regions read back hash to what the digest holds; a region that does not is forgotten
    /// (the next cycle sends it), never trusted again.
    /// </summary>
    private bool MatchesDigest(IDiskTarget target, long offset, ReadOnlySpan<byte> data)
    {
        if (target is not DigestedTarget digested || offset % RegionDigest.RegionBytes != 0
            || (data.Length % RegionDigest.RegionBytes != 0 && offset + data.Length != target.SizeBytes))
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.InvalidArgument, "a verify against the digest names whole regions of an incremental disk");
        }
        var held = digested.Digest.Read(offset / RegionDigest.RegionBytes, (int)RegionDigest.Count(data.Length));
        for (var at = 0; at < data.Length; at += RegionDigest.RegionBytes)
        {
            var hash = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(held.AsSpan(at / RegionDigest.RegionBytes * RegionDigest.HashBytes));
            if (hash == RegionDigest.Unknown || hash != RegionDigest.Hash(data.Slice(at, Math.Min(RegionDigest.RegionBytes, data.Length - at))))
            {
                digested.Digest.Forget(offset, data.Length);
                return false;
            }
        }
        return true;
    }

    public override async Task<FinishSessionReply> FinishSession(FinishSessionRequest request, ServerCallContext context)
    {
        var session = FindSession(request.SessionId, Authenticate(context));
        if (session.Layout?.Trees.Values.FirstOrDefault(t => !t.Complete) is { } incomplete)
        {
            throw Refuse(ErrorCode.Protocol, StatusCode.FailedPrecondition,
                $"the tree for {incomplete.Tree} has not been sent completely; send it before finishing the session");
        }
        session.Publish();
        sessions.Remove(session);
        if (session.Incremental is { } cycle && session.Layout is null)
        {
            session.Dispose();
            return await FinishCycleAsync(session, cycle.Cycle, cycle.Keep, request.FinalCycle, context.CancellationToken);
        }
        if (session.Layout is null)
        {
            SessionRecord.Delete(Path.Combine(options.OutputDirectory, session.SourceName));
        }
        ImageManifest manifest;
        try
        {
            if (session.Layout is { } layout)
            {
                var raws = layout.RawDisks.ToList();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                FileTargetBoot boot;
                try
                {
                    boot = await FileTargetBoot.PlanAsync(layout, logger, context.CancellationToken);
                    if (boot.ChangedFiles)
                    {
                        layout.ForgetIndexes();
                    }
                    await layout.DetachAsync(context.CancellationToken);
                    await boot.InstallAsync(logger, context.CancellationToken);
                    layout.SaveIndexes();
                }
                catch (IOException e)
                {
                    await layout.DetachAsync(CancellationToken.None);
                    throw Refuse(ErrorCode.BootFixup, StatusCode.Internal, $"making the target bootable failed: {e.Message}");
                }
                var detached = clock.Elapsed;
                var sourceDirectory = Path.Combine(options.OutputDirectory, session.SourceName);
                if (session.Incremental is { } fileCycle)
                {
                    // Each cycle's images beside the kept ones; the working copy stays for the next cycle, or goes after the cut-over.
                    var cycleDirectory = CycleStore.DirectoryOf(sourceDirectory, fileCycle.Cycle);
                    Directory.CreateDirectory(cycleDirectory);
                    manifest = await ImageStore.StoreAsync(session.SourceName, session.ImageFormat, raws, context.CancellationToken, cycleDirectory);
                    var pruned = CycleStore.Prune(sourceDirectory, fileCycle.Cycle, fileCycle.Keep);
                    if (request.FinalCycle)
                    {
                        await layout.DiscardAsync(context.CancellationToken);
                    }
                    Log.CycleStored(logger, session.LogId, fileCycle.Cycle, cycleDirectory, session.WrittenBytes,
                        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"stored in {(clock.Elapsed - detached).TotalSeconds:0.0} s"), pruned);
                }
                else
                {
                    manifest = await ImageStore.StoreAsync(session.SourceName, session.ImageFormat, raws, context.CancellationToken, sourceDirectory);
                }
                Log.ImagesStored(logger, session.LogId, detached.TotalSeconds, (clock.Elapsed - detached).TotalSeconds);
            }
            else
            {
                try
                {
                    await BlockTargetBoot.RunAsync(session.Targets.Values.Select(t => (Path.GetFileNameWithoutExtension(t.Path), t.Path)).ToList(),
                        Path.Combine(options.OutputDirectory, session.SourceName, ".fixup"), logger, context.CancellationToken);
                }
                catch (IOException e)
                {
                    throw Refuse(ErrorCode.BootFixup, StatusCode.Internal, $"making the target bootable failed: {e.Message}");
                }
                manifest = await ImageStore.StoreAsync(session.SourceName, session.ImageFormat,
                    session.Targets.Select(kv => (kv.Key, Path.GetFileNameWithoutExtension(kv.Value.Path), kv.Value.Path)).ToList(), context.CancellationToken);
            }
        }
        catch (IOException e)
        {
            throw Refuse(ErrorCode.ReceiverWrite, StatusCode.Internal, $"storing the images as {session.ImageFormat} failed: {e.Message}");
        }
        Log.SessionFinished(logger, session.LogId, session.WrittenBytes, session.RejectedFrames, string.Join(", ", manifest.Disks.Select(d => d.Path)));
        var reply = new FinishSessionReply();
        reply.Targets.AddRange(manifest.Disks.Select(d => new DiskTarget { Index = d.Index, Path = d.Path }));
        return reply;
    }

    /// <summary>Stores the cycle's images beside the kept ones; after the cut-over cycle the working images and digests go.</summary>
    private async Task<FinishSessionReply> FinishCycleAsync(ReceiveSession session, int cycle, int keep, bool final, CancellationToken ct)
    {
        var directory = Path.Combine(options.OutputDirectory, session.SourceName);
        ImageManifest manifest;
        int pruned;
        string timings;
        try
        {
            (manifest, pruned, timings) = await CycleStore.StoreAsync(session.SourceName, directory, cycle, keep, session.ImageFormat,
                session.Targets.Select(kv => (kv.Key, Path.GetFileNameWithoutExtension(kv.Value.Path), kv.Value.Path)).ToList(), logger, ct);
            if (final)
            {
                CycleStore.DiscardWork(directory);
            }
        }
        catch (IOException e)
        {
            throw Refuse(ErrorCode.ReceiverWrite, StatusCode.Internal, $"storing cycle {cycle} as {session.ImageFormat} failed: {e.Message}");
        }
        Log.CycleStored(logger, session.LogId, cycle, Path.GetDirectoryName(manifest.Disks[0].Path) ?? directory, session.WrittenBytes, timings, pruned);
        var reply = new FinishSessionReply();
        reply.Targets.AddRange(manifest.Disks.Select(d => new DiskTarget { Index = d.Index, Path = d.Path }));
        return reply;
    }

    public override async Task<FinishSessionReply> AbortSession(FinishSessionRequest request, ServerCallContext context)
    {
        var session = FindSession(request.SessionId, Authenticate(context));
        sessions.Remove(session);
        // A failed block run keeps its unfinished images and their record for a retry to resume.
        session.KeepsPartial = request.KeepPartial && session.Layout is null;
        session.Dispose();
        if (session.Layout is null && !request.KeepPartial)
        {
            SessionRecord.Delete(Path.Combine(options.OutputDirectory, session.SourceName));
            if (session.Incremental is not null)
            {
                // Cancelled: the job's working images go; the images of finished cycles stay, they are results.
                CycleStore.DiscardWork(Path.Combine(options.OutputDirectory, session.SourceName));
            }
        }
        if (session.Layout is { } layout && !request.KeepPartial)
        {
            // Cancelled: nothing of this source's working copy stays behind.
            await layout.DiscardAsync(context.CancellationToken);
        }
        Log.SessionAborted(logger, session.LogId, request.KeepPartial ? "kept for a retry" : "removed");
        return new FinishSessionReply();
    }

    /// <summary>The session <paramref name="id"/> if the caller's token opened it; another job's session is as unknown as none.</summary>
    private ReceiveSession FindSession(Google.Protobuf.ByteString id, byte[] key) =>
        sessions.Find(id.Span) is { } session && session.IsOwnedBy(key) ? session : throw Refuse(ErrorCode.SessionUnknown, StatusCode.NotFound,
            "the receiver has no such session (it was restarted or the session was replaced); start the migration again");

    /// <summary>Checks the caller's token and returns its key (SHA-256), which names the job the calls belong to.</summary>
    private byte[] Authenticate(ServerCallContext context)
    {
        var token = ControlMetadata.BearerToken(context.RequestHeaders.GetValue(ControlMetadata.Authorization));
        if (token is null || !options.Token.Matches(token))
        {
            throw Refuse(ErrorCode.AuthFailed, StatusCode.Unauthenticated, "the token does not match the receiver's token");
        }
        return DataHandshake.Key(token);
    }

    private RpcException Refuse(ErrorCode code, StatusCode status, string message)
    {
        Log.SessionRefused(logger, ErrorCodes.Name(code), message);
        return ControlMetadata.Refusal(code, status, message);
    }

    private static long Mib(long bytes) => ByteSize.MibRoundedUp(bytes);
}
