namespace Ferry.Control.Model;

/// <summary>The last progress an agent reported for a job.</summary>
public sealed record JobProgress(long DoneBytes, long TotalBytes, long WireBytes, long SpeedBps, long? EtaSeconds)
{
    public static readonly JobProgress None = new(0, 0, 0, 0, null);
}
