namespace Ferry.Snapshot;

/// <summary>How a source is read and whether the copy will be consistent, with the reason shown to the user.</summary>
/// <param name="Provider">"direct" (nothing writes to it), "freeze" (convergent copy, last pass frozen) or "live" (copied while mounted read-write).</param>
public sealed record ViewChoice(string Provider, bool Consistent, string Reason);
