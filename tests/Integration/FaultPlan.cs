namespace Ferry.Tests.Integration;

/// <summary>What a <see cref="FaultProxy"/> does to the connections it forwards.</summary>
/// <param name="Cuts">How many connections to cut, each after a random number of bytes in [CutAfterMin, CutAfterMax]; later ones pass.</param>
/// <param name="FlipEvery">Flip a bit in every Nth Data frame (0: never).</param>
/// <param name="Latency">Added before each forwarded read, both ways.</param>
internal sealed record FaultPlan(int Cuts = 0, long CutAfterMin = 0, long CutAfterMax = 0, int FlipEvery = 0, TimeSpan Latency = default, int Seed = 1);
