namespace Ferry.Transfer.Errors;

/// <summary>
/// Stable error codes. Their names are printed to users, sent between agent and receiver, and
/// documented in the README: never rename one; add new ones at the end.
/// </summary>
public enum ErrorCode
{
    Internal,
    Usage,
    NotRoot,
    DiskNotFound,
    NotBlockDevice,
    SourceRead,
    SourceCorrupt,
    ReceiverUnreachable,
    AuthFailed,
    TargetTooSmall,
    ReceiverNoSpace,
    ReceiverWrite,
    VerifyMismatch,
    Protocol,
    FrameCorrupt,
    SessionUnknown,
    Interrupted,
    CodeUnknown,
    CodeRevoked,
    CodeExpired,
    CodeExhausted,
    AccessKeyInvalid,
    ClockSkew,
    ControlUnreachable,
    NotFerry,
    JobConflict,
    InvalidState,
    NotFound,
    InvalidRequest,
    PathUnsafe,
    LayoutInvalid,
    PartitionTooSmall,
    BootFixup,

    /// <summary>The receiver presented a certificate other than the pinned one (a man in the middle, or another receiver).</summary>
    CertificateMismatch,

    /// <summary>The job's data must travel encrypted, and the agent connected in cleartext.</summary>
    TlsRequired,

    /// <summary>The peer speaks another version of the data-channel protocol.</summary>
    VersionMismatch,

    /// <summary>The operator cancelled the job.</summary>
    JobCancelled,

    /// <summary>No consistent point-in-time view could be had (a freeze refused, a last pass that never fitted its bound).</summary>
    SnapshotFailed,
}
