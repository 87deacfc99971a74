using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>Tests that attach loop devices and mount filesystems run one at a time: they share the kernel's loop pool.</summary>
[CollectionDefinition("loop devices", DisableParallelization = true)]
public sealed class LoopDeviceCollection;
