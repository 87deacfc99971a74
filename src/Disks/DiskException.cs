namespace Ferry.Disks;

/// <summary>
/// A disk could not be read or its structures make no sense. The disk is unusable for this run;
/// other disks and the session are unaffected.
/// </summary>
public sealed class DiskException : Exception
{
    public DiskException(DiskError error, string path, string message, long? offset = null)
        : base(message)
    {
        Error = error;
        Path = path;
        Offset = offset;
    }

    public DiskException()
    {
        Path = string.Empty;
    }

    public DiskException(string message)
        : base(message)
    {
        Path = string.Empty;
    }

    public DiskException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
    }

    public DiskError Error { get; }

    public string Path { get; }

    public long? Offset { get; }
}
