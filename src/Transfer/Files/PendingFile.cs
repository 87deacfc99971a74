namespace Ferry.Transfer.Files;

/// <summary>A regular file announced to the receiver and not yet in place.</summary>
internal sealed class PendingFile(byte[] path, long size)
{
    public byte[] Path { get; } = path;

    public long Size { get; } = size;

    /// <summary>Announcements after the first (changed while read, or damaged on the way).</summary>
    public int Attempts { get; set; }

    /// <summary>The file changed while it was being read: announce it again once the receiver has this copy.</summary>
    public volatile bool Changed;
}
