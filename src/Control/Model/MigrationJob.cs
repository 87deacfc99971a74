namespace Ferry.Control.Model;

/// <summary>A migration job of one source.</summary>
public sealed record MigrationJob(
    string Id,
    string SourceId,
    JobState State,
    JobPhase Phase,
    JobSettings Settings,
    JobProgress Progress,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? ErrorCode,
    string? ErrorMessage,
    IReadOnlyList<string> Images)
{
    /// <summary>Jobs in these states still hold their source: a source has at most one.</summary>
    /// <summary>An incremental job's cycles; <see cref="JobCycles.None"/> for a one-off job.</summary>
    public JobCycles Cycles { get; init; } = JobCycles.None;

    public bool IsUnfinished => State is not (JobState.Finished or JobState.Expired or JobState.Deleting);
}
