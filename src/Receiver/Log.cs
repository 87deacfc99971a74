using Microsoft.Extensions.Logging;

namespace Ferry.Receiver;

/// <summary>The receiver's log events: stable names, no secrets.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, EventName = "SessionOpened", Level = LogLevel.Information,
        Message = "Session {SessionId} opened for source {Source}: {DiskCount} disk(s), {PlannedBytes} bytes planned")]
    public static partial void SessionOpened(ILogger logger, string sessionId, string source, int diskCount, long plannedBytes);

    [LoggerMessage(EventId = 101, EventName = "SessionFinished", Level = LogLevel.Information,
        Message = "Session {SessionId} finished: {WrittenBytes} bytes written, {RejectedFrames} damaged frame(s) refused; images: {Images}")]
    public static partial void SessionFinished(ILogger logger, string sessionId, long writtenBytes, long rejectedFrames, string images);

    [LoggerMessage(EventId = 103, EventName = "SessionAborted", Level = LogLevel.Information,
        Message = "Session {SessionId} aborted by the agent; what it wrote was {Outcome}")]
    public static partial void SessionAborted(ILogger logger, string sessionId, string outcome);

    [LoggerMessage(EventId = 104, EventName = "SessionResumed", Level = LogLevel.Information,
        Message = "Session {SessionId} resumed for source {Source}: {DiskCount} unfinished image(s) reopened, {HeldBytes} bytes on disk")]
    public static partial void SessionResumed(ILogger logger, string sessionId, string source, int diskCount, long heldBytes);

    [LoggerMessage(EventId = 102, EventName = "SessionRefused", Level = LogLevel.Warning,
        Message = "Session refused ({Code}): {Reason}")]
    public static partial void SessionRefused(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 110, EventName = "DataConnectionClosed", Level = LogLevel.Warning,
        Message = "Data connection from {Remote} closed ({Code}): {Reason}")]
    public static partial void DataConnectionClosed(ILogger logger, string remote, string code, string reason);

    [LoggerMessage(EventId = 111, EventName = "FrameRejected", Level = LogLevel.Warning,
        Message = "Session {SessionId}: frame for disk {Disk} offset {Offset} failed its checksum and was not written; asked for it again")]
    public static partial void FrameRejected(ILogger logger, string sessionId, uint disk, ulong offset);

    [LoggerMessage(EventId = 120, EventName = "VerifyMismatch", Level = LogLevel.Error,
        Message = "Session {SessionId}: disk {Disk} range at {Offset} (+{Length}) does not match what the agent sent")]
    public static partial void VerifyMismatch(ILogger logger, string sessionId, uint disk, ulong offset, uint length);

    [LoggerMessage(EventId = 130, EventName = "TreeApplied", Level = LogLevel.Information,
        Message = "Session {SessionId}: tree {Tree} complete: {Entries} entries, {FilesWritten} file(s) written, {Unchanged} unchanged, {Deleted} deleted, {Resent} sent again")]
    public static partial void TreeApplied(ILogger logger, string sessionId, uint tree, long entries, long filesWritten, long unchanged, long deleted, long resent);

    [LoggerMessage(EventId = 131, EventName = "ImagesStored", Level = LogLevel.Information,
        Message = "Session {SessionId}: target disks unmounted and flushed in {DetachSeconds:0.0} s; images converted, checked and hashed in {StoreSeconds:0.0} s")]
    public static partial void ImagesStored(ILogger logger, string sessionId, double detachSeconds, double storeSeconds);

    [LoggerMessage(EventId = 140, EventName = "CycleOpened", Level = LogLevel.Information,
        Message = "Session {SessionId}: cycle {Cycle} of the incremental job of {Source} ({DiskCount} disk(s), {PlannedBytes} bytes to compare, keeping {Keep} image(s))")]
    public static partial void CycleOpened(ILogger logger, string sessionId, int cycle, string source, int diskCount, long plannedBytes, int keep);

    [LoggerMessage(EventId = 141, EventName = "DigestRebuilt", Level = LogLevel.Warning,
        Message = "Session {SessionId}: the digest of {Image} did not match the image (it was changed, or a cycle was interrupted); every region was hashed again from the image")]
    public static partial void DigestRebuilt(ILogger logger, string sessionId, string image);

    [LoggerMessage(EventId = 142, EventName = "CycleStored", Level = LogLevel.Information,
        Message = "Session {SessionId}: cycle {Cycle} stored in {Directory} ({WrittenBytes} bytes written this cycle; {Timings}); removed {Pruned} older cycle(s)")]
    public static partial void CycleStored(ILogger logger, string sessionId, int cycle, string directory, long writtenBytes, string timings, int pruned);
}
