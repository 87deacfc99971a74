namespace Ferry.Agent.Migration;

/// <summary>The last line of a file replication with <c>--json-progress</c>: what was sent and how.</summary>
/// <param name="SyncS">Seconds until the receiver held every file durably (before it built the images).</param>
/// <param name="ElapsedS">Seconds until the images were stored.</param>
public sealed record FileSummary(
    string Phase,
    long Entries,
    long WholeFiles,
    long DeltaFiles,
    long UnchangedFiles,
    long DataWireBytes,
    long LiteralBytes,
    long WireBytes,
    long ResentFiles,
    long VanishedFiles,
    long ChangedWhileRead,
    double SyncS,
    double ElapsedS);
