namespace Ferry.Transfer.Blocks;

/// <summary>A range that was sent, with the XXH3-64 of its bytes, kept for end-to-end verification.</summary>
public readonly record struct SentRange(long Offset, int Length, ulong Xxh3);
