namespace Ferry.Control.Model;

/// <summary>An activation code: its public id ("at-…"); the secret is kept only as a hash.</summary>
public sealed record ActivationCode(string Id, int Quota, int Used, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, bool Revoked, string? Description);
