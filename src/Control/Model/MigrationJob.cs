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
    public bool IsUnfinished => State is not (JobState.Finished or JobState.Expired or JobState.Deleting);
}
