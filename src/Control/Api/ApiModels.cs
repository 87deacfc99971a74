using Ferry.Control.Model;

namespace Ferry.Control.Api;

/// <summary>Request and response bodies of the operator REST API (JSON, snake_case).</summary>
public sealed record CreateCodeRequest(int? Quota, int? Days, string? Description);

public sealed record CreatedCode(string Id, string Secret, int Quota, DateTimeOffset ExpiresAt, string Command);

public sealed record CreateAccessKeyRequest(string? Description);

public sealed record CreatedAccessKey(string Id, string Secret);

public sealed record CreateJobRequest(string SourceId, List<string>? Disks, int? Compression, double? BandwidthMbit, bool? Checksum, string? ImageFormat,
    string? Mode = null, System.Text.Json.JsonElement? Layout = null, string? Encryption = null, bool? Incremental = null, long? EverySeconds = null,
    int? Keep = null);

public sealed record ModifyJobRequest(int? Compression, double? BandwidthMbit, bool? Checksum);

public sealed record ApiError(string Code, string Message, string? Hint);

/// <summary>A source as operators see it (without its credential or identity hash).</summary>
public sealed record SourceView(string Id, string Hostname, SourceState State, string AgentVersion, DateTimeOffset RegisteredAt,
    DateTimeOffset LastHeartbeat, double CpuPercent, long MemoryUsedBytes, string? ActivatedWith, IReadOnlyList<string> Disks, string Inventory)
{
    public static SourceView Of(SourceServer s) => new(s.Id, s.Hostname, s.State, s.AgentVersion, s.RegisteredAt, s.LastHeartbeat, s.CpuPercent,
        s.MemoryUsedBytes, s.ActivatedWith, ControlPlane.InventoryDisks(s), s.Inventory);
}
