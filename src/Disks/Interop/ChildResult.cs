namespace Ferry.Disks.Interop;

/// <summary>How a program run by <see cref="ChildProcess"/> ended and what it printed.</summary>
public sealed record ChildResult(int ExitCode, string Stdout, string Stderr);
