namespace Ferry.Control.Model;

/// <summary>A registered source server.</summary>
/// <param name="Identity">Hash of the machine-id and disk serials: stable across reboots and NIC changes.</param>
/// <param name="Inventory">The agent's inventory document (JSON) as sent at registration.</param>
public sealed record SourceServer(
    string Id,
    string Identity,
    string Hostname,
    SourceState State,
    string AgentVersion,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastHeartbeat,
    double CpuPercent,
    long MemoryUsedBytes,
    string Inventory,
    string? ActivatedWith);
