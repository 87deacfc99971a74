using Ferry.Transfer.Pacing;

namespace Ferry.Transfer.Blocks;

/// <summary>How a block transfer runs.</summary>
public sealed record BlockSendOptions
{
    /// <summary>1 MiB: large enough that a frame's header and round trip are noise, small enough to pool.</summary>
    public const int DefaultChunkBytes = 1 << 20;

    public int CompressionLevel { get; init; } = Lz4Codec.DefaultLevel;

    /// <summary>When set, pause, compression level and bandwidth follow it while the transfer runs (and override the fixed settings).</summary>
    public TransferControl? Control { get; init; }

    public int ChunkBytes { get; init; } = DefaultChunkBytes;

    /// <summary>Data connections used at once.</summary>
    public int Streams { get; init; } = 2;

    /// <summary>Tasks that checksum and compress chunks in parallel.</summary>
    public int Encoders { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>The wire-rate limit shared by all connections, or null for none.</summary>
    public TokenBucket? RateLimit { get; init; }

    /// <summary>Keep each sent range's hash so the disk can be verified end to end afterwards.</summary>
    public bool RecordHashes { get; init; }

    /// <summary>
    /// Source bytes sent on a connection between two Flush frames: what the receiver acknowledges as
    /// durable at a time, and so about what a resumed transfer sends again per connection.
    /// </summary>
    public long CheckpointBytes { get; init; } = 16 << 20;

    /// <summary>
    /// A later pass of a convergent copy: given a chunk's disk, offset, length and XXH3, whether the
    /// receiver already holds exactly these bytes (the chunk is then not sent).
    /// </summary>
    public Func<uint, long, int, ulong, bool>? Unchanged { get; init; }

    /// <summary>
    /// An incremental cycle: what the receiver holds, region by region; only regions whose hash differs
    /// are sent. The disks' ranges must then start and end on region boundaries (<see cref="RegionDigest.AlignOut"/>).
    /// </summary>
    public IRegionDigest? Digest { get; init; }

    /// <summary>How often one range may be rejected by the receiver as damaged before the transfer fails.</summary>
    public int MaxResendsPerRange { get; init; } = 5;
}
