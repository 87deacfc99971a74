namespace Ferry.Control.Store;

/// <summary>What an agent presents when it registers (the credential is checked separately).</summary>
public sealed record Registration(string Identity, string Hostname, string AgentVersion, string Inventory);
