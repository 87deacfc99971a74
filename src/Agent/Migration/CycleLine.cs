namespace Ferry.Agent.Migration;

/// <summary>With <c>--json-progress</c>, the line an incremental job prints after each cycle.</summary>
/// <param name="Phase">Always "cycle".</param>
/// <param name="Cycle">The receiver's number of the cycle.</param>
/// <param name="SentBytes">Source bytes sent: what differed from the receiver's copy.</param>
/// <param name="SyncS">Seconds until the receiver held everything, before it stored the cycle's images.</param>
/// <param name="Final">The cut-over cycle, after which the job is over.</param>
public sealed record CycleLine(string Phase, int Cycle, long SentBytes, long WireBytes, double SyncS, double ElapsedS, bool Final, IReadOnlyList<string> Images);
