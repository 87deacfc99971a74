namespace Ferry.Agent.Lifecycle;

/// <summary>The agent's registration (file client_data, mode 0600): which control plane, which source, and its credential.</summary>
public sealed record ClientData(string Server, int AgentPort, string SourceId, string AgentToken, string Identity, int HeartbeatSeconds, string? ServerFingerprint = null);
