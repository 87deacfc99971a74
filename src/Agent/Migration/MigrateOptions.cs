namespace Ferry.Agent.Migration;

/// <summary>A client-only block migration, as given on the command line.</summary>
public sealed record MigrateOptions
{
    public required string Receiver { get; init; }

    public int ControlPort { get; init; } = 8080;

    public int DataPort { get; init; } = 8703;

    public required string Token { get; init; }

    public required IReadOnlyList<string> Disks { get; init; }

    public int Compression { get; init; } = Transfer.Lz4Codec.DefaultLevel;

    /// <summary>Wire limit in Mbit/s; 0 for none.</summary>
    public double BandwidthMbit { get; init; }

    public bool Checksum { get; init; }

    /// <summary>How the receiver stores the images: raw, qcow2 (default), vmdk or vhdx.</summary>
    public string ImageFormat { get; init; } = Transfer.ImageFormat.Default;

    public bool JsonProgress { get; init; }

    public int Streams { get; init; } = 2;

    /// <summary>Name the receiver files the images under; the host name by default.</summary>
    public string? SourceName { get; init; }
}
