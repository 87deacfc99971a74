namespace Ferry.Control.Model;

/// <summary>An AccessKey pair's public half; the secret is stored encrypted.</summary>
public sealed record AccessKey(string Id, DateTimeOffset CreatedAt, string? Description);
