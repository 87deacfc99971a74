using Xunit;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>The fuzzers keep both cores busy for a minute: they run alone, so that no timing of another test suffers.</summary>
[CollectionDefinition("fuzz", DisableParallelization = true)]
public sealed class FuzzCollection;
