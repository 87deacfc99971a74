namespace Ferry.Snapshot;

/// <summary>A point-in-time view could not be had (a filesystem refused to freeze, a last pass never fitted its bound); the agent reports E_SNAPSHOT_FAILED.</summary>
public sealed class SnapshotException(string message, string? hint = null) : Exception(message)
{
    public string? Hint { get; } = hint;
}
