namespace Ferry.Agent.Lifecycle;

/// <summary>How `./agent` was asked to import this source.</summary>
public sealed record ActivationOptions
{
    public string? Server { get; init; }

    /// <summary>SHA-256 of the control plane's agent API certificate, from the activation command.</summary>
    public string? ServerFingerprint { get; init; }

    /// <summary>"at-ID:SECRET" as printed by `ferry code create`.</summary>
    public string? Code { get; init; }

    public string? AccessKeyId { get; init; }

    public string? AccessKeySecret { get; init; }

    /// <summary>Answer yes to every question (unattended install).</summary>
    public bool Yes { get; init; }

    /// <summary>Register loop devices as disks too (test rigs, image-backed servers).</summary>
    public bool IncludeLoop { get; init; }
}
