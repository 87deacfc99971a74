namespace Ferry.Agent.Migration;

/// <summary>What a finished migration did.</summary>
public sealed record MigrationResult(long SourceBytes, long WireBytes, long DiskBytes, long ResentFrames, TimeSpan Elapsed, IReadOnlyList<string> Images);
