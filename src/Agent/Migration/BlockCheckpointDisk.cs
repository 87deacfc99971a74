namespace Ferry.Agent.Migration;

/// <summary>One disk of a <see cref="BlockCheckpoint"/>: every planned byte below <paramref name="Position"/> is durable on the receiver.</summary>
public sealed record BlockCheckpointDisk(uint Index, string Name, long SizeBytes, string Plan, long Position);
