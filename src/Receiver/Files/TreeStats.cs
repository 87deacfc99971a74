namespace Ferry.Receiver.Files;

/// <summary>What applying one tree did, for the log.</summary>
internal sealed class TreeStats
{
    public long Entries { get; set; }

    public long FilesWritten { get; set; }

    public long Unchanged { get; set; }

    public long Deleted { get; set; }

    public long Resent { get; set; }
}
