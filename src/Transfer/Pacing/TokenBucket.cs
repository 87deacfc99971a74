using System.Diagnostics;

namespace Ferry.Transfer.Pacing;

/// <summary>
/// Limits the wire rate with a token bucket: tokens (bytes) accrue at <see cref="BytesPerSecond"/>
/// up to a burst of a quarter second's worth (at least one maximal frame), and a sender waits
/// until the bytes it is about to send are covered. Shared by all data connections of a session.
/// The rate can be changed while a transfer runs.
/// </summary>
public sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly Func<long> _clock;
    private readonly long _ticksPerSecond;
    private double _tokens;
    private long _lastTicks;
    private long _bytesPerSecond;

    public TokenBucket(long bytesPerSecond, Func<long>? clock = null, long ticksPerSecond = 0)
    {
        _clock = clock ?? Stopwatch.GetTimestamp;
        _ticksPerSecond = clock is null ? Stopwatch.Frequency : ticksPerSecond;
        if (_ticksPerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ticksPerSecond), "a custom clock needs its tick rate");
        }
        _lastTicks = _clock();
        BytesPerSecond = bytesPerSecond;
        _tokens = Burst;
    }

    /// <summary>A limit given in Mbit/s, as users of the reference product set it; 0 means none.</summary>
    public static TokenBucket? FromMegabits(double megabitsPerSecond) =>
        megabitsPerSecond > 0 ? new TokenBucket((long)(megabitsPerSecond * 1_000_000 / 8)) : null;

    public long BytesPerSecond
    {
        get => Volatile.Read(ref _bytesPerSecond);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            lock (_lock)
            {
                Refill();
                _bytesPerSecond = value;
                _tokens = Math.Min(_tokens, Burst);
            }
        }
    }

    private double Burst => Math.Max(_bytesPerSecond / 4.0, Framing.FrameHeader.MaxBlockBytes);

    /// <summary>
    /// Takes <paramref name="bytes"/> tokens and returns how long the caller must wait before sending
    /// them (zero when they were available). Tokens may go negative: later callers wait longer.
    /// </summary>
    public TimeSpan Reserve(long bytes)
    {
        lock (_lock)
        {
            Refill();
            _tokens -= bytes;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / _bytesPerSecond);
        }
    }

    public async ValueTask WaitAsync(long bytes, CancellationToken cancellationToken)
    {
        var delay = Reserve(bytes);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }
    }

    private void Refill()
    {
        var now = _clock();
        var elapsed = (double)(now - _lastTicks) / _ticksPerSecond;
        _lastTicks = now;
        _tokens = Math.Min(Burst, _tokens + (elapsed * _bytesPerSecond));
    }
}
