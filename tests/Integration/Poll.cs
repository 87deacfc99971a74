namespace Ferry.Tests.Integration;

/// <summary>Waiting on a condition with a deadline, never a fixed sleep.</summary>
internal static class Poll
{
    /// <summary>Reads until the condition holds, every 100 ms; throws after <paramref name="patience"/>, naming what it waited for.</summary>
    public static T Until<T>(TimeSpan patience, Func<T> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var value = read();
            if (done(value))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {patience} for {what}; last seen: {value}");
            }
            using var tick = new ManualResetEventSlim();
            tick.Wait(TimeSpan.FromMilliseconds(100));
        }
    }
}
