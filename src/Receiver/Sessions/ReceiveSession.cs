using Ferry.Receiver.Targets;

namespace Ferry.Receiver.Sessions;

/// <summary>One agent's replication session: the targets its disks are written to.</summary>
public sealed class ReceiveSession(byte[] id, byte[] tokenKey, string sourceName, IReadOnlyDictionary<uint, IDiskTarget> targets, string imageFormat,
    Layout.TargetDisks? layout = null) : IDisposable
{
    private readonly Lock _flushLock = new();

    public byte[] Id { get; } = id;

    public string IdText => Convert.ToHexStringLower(Id);

    /// <summary>The id's first 8 hex digits, for logs: the whole id admits a data connection, so it is not logged.</summary>
    public string LogId => IdText[..8];

    /// <summary>The SHA-256 of the token that opened the session: only its holder may use the session (control calls and data connections).</summary>
    public byte[] TokenKey { get; } = tokenKey;

    /// <summary>Whether <paramref name="key"/> is the key of the token that opened this session (in time independent of it).</summary>
    public bool IsOwnedBy(ReadOnlySpan<byte> key) => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(TokenKey, key);

    public string SourceName { get; } = sourceName;

    /// <summary>Whether this session's data may travel in cleartext (its token's setting).</summary>
    public Transfer.Control.TransportSecurity Security { get; init; }

    /// <summary>Off allows cleartext from anywhere; Auto only from this machine (loopback); On never.</summary>
    public bool AllowsCleartextFrom(System.Net.IPAddress? remote) => Security switch
    {
        Transfer.Control.TransportSecurity.Off => true,
        Transfer.Control.TransportSecurity.Auto => remote is not null && System.Net.IPAddress.IsLoopback(remote),
        _ => false,
    };

    /// <summary>The format the finished disks are stored in (see <see cref="Transfer.ImageFormat"/>).</summary>
    public string ImageFormat { get; } = imageFormat;

    public IReadOnlyDictionary<uint, IDiskTarget> Targets { get; } = targets;

    /// <summary>File replication: the target disks built from the layout; null for block replication.</summary>
    public Layout.TargetDisks? Layout { get; } = layout;

    public bool Finished { get; private set; }

    /// <summary>Block replication: the bytes the agent plans to send (for saying how much more room a full disk needs).</summary>
    public long PlannedBytes { get; init; }

    /// <summary>Block replication, one cycle of an incremental job: its number and how many cycles' images are kept; null otherwise.</summary>
    public (int Cycle, int Keep)? Incremental { get; init; }

    /// <summary>Whether the session's unfinished images stay when it is closed, for a later run to resume (block replication).</summary>
    public bool KeepsPartial { get; set; }

    /// <summary>Bytes the session's image files occupy on the receiver's disk.</summary>
    public long AllocatedBytes => Targets.Values.OfType<ImageFileTarget>().Sum(t => t.AllocatedBytes);

    /// <summary>Frames that arrived damaged and were refused.</summary>
    public long RejectedFrames => Interlocked.Read(ref _rejected);

    public long WrittenBytes => Interlocked.Read(ref _written);

    private long _rejected;
    private long _written;

    public void CountRejected() => Interlocked.Increment(ref _rejected);

    public void CountWritten(long bytes) => Interlocked.Add(ref _written, bytes);

    public void FlushAll()
    {
        lock (_flushLock)
        {
            foreach (var target in Targets.Values)
            {
                target.Flush();
            }
        }
    }

    public IReadOnlyList<string> Publish()
    {
        lock (_flushLock)
        {
            foreach (var target in Targets.Values)
            {
                target.Publish();
            }
            Finished = true;
            return Targets.Values.Select(t => t.Path).ToList();
        }
    }

    public void Dispose()
    {
        // A file replication's disks stay as the working copy that the next session of this source reuses.
        Layout?.DetachAsync(CancellationToken.None).GetAwaiter().GetResult();
        foreach (var target in Targets.Values)
        {
            if (!Finished && !KeepsPartial && target is ImageFileTarget image)
            {
                image.Discard();
            }
            else
            {
                target.Dispose();
            }
        }
    }
}
