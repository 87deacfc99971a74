namespace Ferry.Agent.Migration;

/// <summary>What a finished migration did.</summary>
public sealed record MigrationResult(long SourceBytes, long WireBytes, long DiskBytes, long ResentFrames, TimeSpan Elapsed, IReadOnlyList<string> Images)
{
    /// <summary>Block replication: bytes an interrupted earlier run had made durable on the receiver (0 for a fresh start).</summary>
    public long ResumedFromBytes { get; init; }

    /// <summary>Source bytes sent again because they were in flight when a connection was lost.</summary>
    public long RepeatedBytes { get; init; }

    /// <summary>How many times the agent connected again after losing the receiver.</summary>
    public int Reconnects { get; init; }

    /// <summary>Block replication of filesystems mounted read-write: how long they were frozen for the last pass.</summary>
    public TimeSpan? FrozenFor { get; init; }

    /// <summary>Block replication of an incremental job: the number of the cycle this run was (0 for a one-off job).</summary>
    public int Cycle { get; init; }

    /// <summary>Block replication: how long until the receiver held every byte (verified when asked), before it stored the images.</summary>
    public TimeSpan? SyncElapsed { get; init; }
}
