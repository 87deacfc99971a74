namespace Ferry.Control.Api;

/// <summary>GET /api/agent: tells an agent that this is Ferry, which version, and where the agent API listens.</summary>
public sealed record AgentEndpointInfo(string Service, string Version, int GrpcPort);
