namespace Ferry.Transfer.Framing;

/// <summary>What a data connection introduces itself with: the session's id and the job token's key (<see cref="DataHandshake.Key"/>).</summary>
public sealed record SessionCredentials(byte[] SessionId, byte[] Key);
