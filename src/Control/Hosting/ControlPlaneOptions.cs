using System.Net;

namespace Ferry.Control.Hosting;

/// <summary>How <c>ferry serve</c> runs.</summary>
public sealed record ControlPlaneOptions
{
    /// <summary>The REST API, /install.sh and the agent package (HTTP/1.1).</summary>
    public const int DefaultPort = 8090;

    /// <summary>The agent API (gRPC over cleartext HTTP/2, which cannot share a port with HTTP/1.1 without TLS).</summary>
    public const int DefaultAgentPort = 8091;

    public required string DataDirectory { get; init; }

    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>0 picks a free port (tests). Agents learn it from GET /api/agent on the main port.</summary>
    public int AgentPort { get; init; } = DefaultAgentPort;

    /// <summary>The address agents use, as printed in activation commands; by default the one a request came to.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>The agent package served at /download; by default the one beside the ferry executable.</summary>
    public string? PackagePath { get; init; }

    /// <summary>Agents send a heartbeat this often; three missed ones make a source Offline.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);
}
