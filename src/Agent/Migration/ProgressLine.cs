namespace Ferry.Agent.Migration;

/// <summary>One line of <c>--json-progress</c> output.</summary>
/// <param name="SpeedBps">Source bytes per second (before compression), over the last interval.</param>
/// <param name="WireBps">Bytes per second on the wire (after compression).</param>
/// <param name="EtaS">Seconds left at the current speed; null while unknown.</param>
public sealed record ProgressLine(
    string Phase,
    string Disk,
    long DoneBytes,
    long TotalBytes,
    long WireBytes,
    long SpeedBps,
    long WireBps,
    long? EtaS);
