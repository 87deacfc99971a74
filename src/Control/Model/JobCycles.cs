namespace Ferry.Control.Model;

/// <summary>Where an incremental job stands between its cycles.</summary>
/// <param name="Completed">Cycles finished so far (the receiver's number of the last one).</param>
/// <param name="StartedAt">When the current or last cycle started: the next is due <c>every</c> after it.</param>
/// <param name="NextAt">While the job is Waiting: when the next cycle starts.</param>
/// <param name="Cutover">The operator asked for the cut-over: the next cycle to start is the last.</param>
public sealed record JobCycles(int Completed, DateTimeOffset? StartedAt, DateTimeOffset? NextAt, bool Cutover)
{
    public static readonly JobCycles None = new(0, null, null, false);
}
