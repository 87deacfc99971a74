using Ferry.Transfer.Pacing;

namespace Ferry.Transfer.Blocks;

/// <summary>
/// Settings a running transfer obeys as they change: pause and resume, compression level, and the
/// bandwidth limit. The control plane's pause and modify reach the pipeline through this object, so
/// they take effect on the next frame without restarting anything.
/// </summary>
public sealed class TransferControl
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _resumed = Resumed();
    private volatile bool _paused;
    private volatile int _compressionLevel = Lz4Codec.DefaultLevel;
    private volatile TokenBucket? _bucket;

    public bool Paused => _paused;

    public int CompressionLevel
    {
        get => _compressionLevel;
        set
        {
            Lz4Codec.ValidateLevel(value);
            _compressionLevel = value;
        }
    }

    public TokenBucket? RateLimit => _bucket;

    /// <summary>Whether the finished disks are verified end to end (the data needed is kept either way).</summary>
    public bool Checksum { get; set; }

    /// <summary>Sets the wire limit in Mbit/s (0 removes it); the bucket is kept so that its credit carries over.</summary>
    public void SetBandwidth(double megabitsPerSecond)
    {
        lock (_lock)
        {
            if (megabitsPerSecond <= 0)
            {
                _bucket = null;
            }
            else if (_bucket is { } bucket)
            {
                bucket.BytesPerSecond = (long)(megabitsPerSecond * 1_000_000 / 8);
            }
            else
            {
                _bucket = TokenBucket.FromMegabits(megabitsPerSecond);
            }
        }
    }

    public void Pause()
    {
        lock (_lock)
        {
            if (!_paused)
            {
                _resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _paused = true;
            }
        }
    }

    public void Resume()
    {
        lock (_lock)
        {
            _paused = false;
            _resumed.TrySetResult();
        }
    }

    /// <summary>Returns at once while running; while paused, when resumed.</summary>
    public Task WaitWhilePausedAsync(CancellationToken cancellationToken)
    {
        if (!_paused)
        {
            return Task.CompletedTask;
        }
        lock (_lock)
        {
            return _resumed.Task.WaitAsync(cancellationToken);
        }
    }

    private static TaskCompletionSource Resumed()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }
}
