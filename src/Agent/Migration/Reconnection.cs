using Ferry.Transfer.Errors;
using Serilog;

namespace Ferry.Agent.Migration;

/// <summary>
/// When a transfer that lost the receiver tries again: after a failure that a new connection can
/// cure (the receiver unreachable or restarted), wait with exponential backoff (0.2 s doubling to
/// 30 s, back to 0.2 s once an attempt got further) and try again, for as long as
/// <paramref name="window"/> has passed without progress. Any other failure is final at once.
/// </summary>
public sealed class Reconnection(TimeSpan window, ILogger log)
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(30);

    private TimeSpan _delay = First;
    private DateTime _lastProgress = DateTime.UtcNow;
    private long _lastDone = -1;

    /// <summary>How many times the transfer connected again.</summary>
    public int Attempts { get; private set; }

    public static bool IsTransient(Exception e) => e is FerryException { Code: ErrorCode.ReceiverUnreachable or ErrorCode.SessionUnknown };

    /// <summary>
    /// Waits before the next attempt; false when <paramref name="failure"/> is final or the window
    /// without progress is over (the caller then reports the failure).
    /// </summary>
    /// <param name="done">How far the transfer is durable now; more than last time counts as progress.</param>
    public async Task<bool> WaitAsync(Exception failure, long done, CancellationToken ct)
    {
        if (!IsTransient(failure))
        {
            return false;
        }
        if (done > _lastDone)
        {
            _lastDone = done;
            _lastProgress = DateTime.UtcNow;
            _delay = First;
        }
        if (DateTime.UtcNow - _lastProgress + _delay > window)
        {
            log.Error("No progress for {Seconds:F0} s; giving up reconnecting", (DateTime.UtcNow - _lastProgress).TotalSeconds);
            return false;
        }
        Attempts++;
        log.Warning("Lost the receiver ({Code}: {Message}); connecting again in {Delay:F1} s (attempt {Attempt})",
            ErrorCodes.Name(((FerryException)failure).Code), failure.Message, _delay.TotalSeconds, Attempts);
        await Task.Delay(_delay, ct);
        _delay = TimeSpan.FromTicks(Math.Min(Longest.Ticks, _delay.Ticks * 2));
        return true;
    }
}
