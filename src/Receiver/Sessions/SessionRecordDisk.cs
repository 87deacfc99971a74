namespace Ferry.Receiver.Sessions;

/// <summary>One disk of a <see cref="SessionRecord"/>: its image is <c>NAME.raw.partial</c> of <paramref name="SizeBytes"/> bytes.</summary>
public sealed record SessionRecordDisk(uint Index, string Name, long SizeBytes);
