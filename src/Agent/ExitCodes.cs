using Ferry.Disks;
using Ferry.Transfer.Errors;

namespace Ferry.Agent;

/// <summary>The agent's exit codes (documented in the README): the one place failures become numbers.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Internal = 1;
    public const int Usage = 2;
    public const int NotRoot = 3;
    public const int SourceDisk = 4;
    public const int ReceiverUnreachable = 5;
    public const int AuthFailed = 6;
    public const int NoSpace = 7;
    public const int DataIntegrity = 8;
    public const int Protocol = 9;
    public const int ReceiverWrite = 10;
    public const int ClockSkew = 11;
    public const int SnapshotFailed = 12;
    public const int Interrupted = 130;

    public static int For(ErrorCode code) => code switch
    {
        ErrorCode.Usage or ErrorCode.LayoutInvalid => Usage,
        ErrorCode.NotRoot => NotRoot,
        ErrorCode.DiskNotFound or ErrorCode.NotBlockDevice or ErrorCode.SourceRead or ErrorCode.SourceCorrupt => SourceDisk,
        ErrorCode.ReceiverUnreachable or ErrorCode.ControlUnreachable => ReceiverUnreachable,
        ErrorCode.AuthFailed or ErrorCode.CodeUnknown or ErrorCode.CodeRevoked or ErrorCode.CodeExpired or ErrorCode.CodeExhausted
            or ErrorCode.AccessKeyInvalid or ErrorCode.CertificateMismatch or ErrorCode.TlsRequired => AuthFailed,
        ErrorCode.ClockSkew => ClockSkew,
        ErrorCode.TargetTooSmall or ErrorCode.ReceiverNoSpace or ErrorCode.PartitionTooSmall => NoSpace,
        ErrorCode.VerifyMismatch or ErrorCode.FrameCorrupt => DataIntegrity,
        ErrorCode.Protocol or ErrorCode.SessionUnknown or ErrorCode.NotFerry or ErrorCode.PathUnsafe or ErrorCode.VersionMismatch => Protocol,
        ErrorCode.ReceiverWrite or ErrorCode.BootFixup => ReceiverWrite,
        ErrorCode.Interrupted => Interrupted,
        ErrorCode.SnapshotFailed => SnapshotFailed,
        _ => Internal,
    };

    /// <summary>Any failure as a user-facing error with a stable code and, where one helps, a hint.</summary>
    public static FerryException ToFerry(Exception e) => e switch
    {
        FerryException f => f,
        DiskException d => ToFerry(d),
        Snapshot.SnapshotException s => new FerryException(ErrorCode.SnapshotFailed, s.Message, s.Hint, s),
        OperationCanceledException => new FerryException(ErrorCode.Interrupted, "interrupted", "Run the same command again to start over."),
        UnauthorizedAccessException => new FerryException(ErrorCode.NotRoot, e.Message, "Run the agent as root (sudo)."),
        _ => new FerryException(ErrorCode.Internal, e.ToString(), "This is a bug in Ferry; please report it with the log under Logs/."),
    };

    /// <summary>A disk failure as a user-facing error with a stable code.</summary>
    public static FerryException ToFerry(DiskException e) => e.Error switch
    {
        DiskError.NotFound => new FerryException(ErrorCode.DiskNotFound, e.Message, "Check the device name with `./agent inventory`.", e),
        DiskError.NotABlockDevice => new FerryException(ErrorCode.NotBlockDevice, e.Message, "Name a whole disk such as /dev/sda or /dev/nvme0n1 (see `./agent inventory`).", e),
        DiskError.PermissionDenied => new FerryException(ErrorCode.NotRoot, e.Message, "Run the agent as root (sudo).", e),
        DiskError.ReadFailed => new FerryException(ErrorCode.SourceRead, e.Message + (e.Offset is { } o ? $" (disk {e.Path}, offset {o})" : ""),
            "The source disk has a read error there; check `dmesg` and the disk's health.", e),
        _ => new FerryException(ErrorCode.SourceCorrupt, e.Message, "The disk's partition table or filesystem is damaged; run fsck on the source.", e),
    };
}
