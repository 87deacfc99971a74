namespace Ferry.Transfer.Files;

/// <summary>A regular file announced to the receiver and not yet in place.</summary>
internal sealed class PendingFile(byte[] path, long size, Disks.Files.FileTime modified)
{
    public byte[] Path { get; } = path;

    /// <summary>Size and modification time as announced: the receiver stamps the file with them.</summary>
    public long Size { get; set; } = size;

    public Disks.Files.FileTime Modified { get; set; } = modified;

    /// <summary>Its content is being sent without waiting for the receiver to ask (the target disks are new).</summary>
    public bool SentAtOnce { get; set; }

    /// <summary>Announcements after the first (changed while read, or damaged on the way).</summary>
    public int Attempts { get; set; }

    /// <summary>The file changed while it was being read: announce it again once the receiver has this copy.</summary>
    public volatile bool Changed;
}
