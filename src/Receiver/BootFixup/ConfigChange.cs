namespace Ferry.Receiver.BootFixup;

/// <summary>One change made to a configuration file of the target, for the job's log: where, what, and why.</summary>
public sealed record ConfigChange(string File, int Line, string Before, string After, string Reason);
