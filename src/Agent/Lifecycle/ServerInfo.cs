namespace Ferry.Agent.Lifecycle;

/// <summary>The control plane's answer at GET /api/agent.</summary>
public sealed record ServerInfo(string Service, string Version, int GrpcPort);
