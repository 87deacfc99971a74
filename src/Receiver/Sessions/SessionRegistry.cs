using System.Collections.Concurrent;

namespace Ferry.Receiver.Sessions;

/// <summary>The open sessions of this receiver, found by the id the data channel's Hello frame carries.</summary>
public sealed class SessionRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, ReceiveSession> _sessions = new();

    /// <summary>
    /// Registers a session. An open session of the same source is replaced and its unfinished images
    /// are dropped: the agent restarted, and the latest run is the one that counts.
    /// </summary>
    public void Add(ReceiveSession session)
    {
        foreach (var old in _sessions.Values.Where(s => s.SourceName == session.SourceName).ToList())
        {
            Remove(old);
            old.Dispose();
        }
        _sessions[session.IdText] = session;
    }

    public ReceiveSession? Find(ReadOnlySpan<byte> id) =>
        id.Length == 16 && _sessions.TryGetValue(Convert.ToHexStringLower(id), out var s) ? s : null;

    public void Remove(ReceiveSession session) => _sessions.TryRemove(session.IdText, out _);

    public void Dispose()
    {
        foreach (var session in _sessions.Values)
        {
            session.Dispose();
        }
        _sessions.Clear();
    }
}
