using Serilog.Core;
using Serilog.Events;

namespace Ferry.Agent;

/// <summary>
/// The log file's sink, which can be held: while filesystems are frozen the agent must write nothing
/// to them (a write would block until the thaw, and the agent's own directory may be on one), so
/// events are kept in memory (at most <see cref="Capacity"/>, then counted) and written once released.
/// </summary>
internal sealed class HeldSink(ILogEventSink inner) : ILogEventSink, IDisposable
{
    public const int Capacity = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<LogEvent> _held = new();
    private int _holds;
    private int _dropped;

    /// <summary>The log file of this process (null when there is none).</summary>
    public static HeldSink? File { get; set; }

    public void Emit(LogEvent logEvent)
    {
        lock (_lock)
        {
            if (_holds > 0)
            {
                if (_held.Count < Capacity)
                {
                    _held.Enqueue(logEvent);
                }
                else
                {
                    _dropped++;
                }
                return;
            }
        }
        inner.Emit(logEvent);
    }

    /// <summary>Holds events until the returned scope ends.</summary>
    public IDisposable Hold()
    {
        lock (_lock)
        {
            _holds++;
        }
        return new Release(this);
    }

    private void Flush()
    {
        List<LogEvent> events;
        int dropped;
        lock (_lock)
        {
            if (--_holds > 0)
            {
                return;
            }
            events = [.. _held];
            _held.Clear();
            (dropped, _dropped) = (_dropped, 0);
        }
        foreach (var e in events)
        {
            inner.Emit(e);
        }
        if (dropped > 0)
        {
            inner.Emit(new LogEvent(DateTimeOffset.Now, LogEventLevel.Warning, null,
                new Serilog.Parsing.MessageTemplateParser().Parse($"{dropped} log events while filesystems were frozen were not kept"), []));
        }
    }

    public void Dispose() => (inner as IDisposable)?.Dispose();

    private sealed class Release(HeldSink sink) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                sink.Flush();
            }
        }
    }
}
