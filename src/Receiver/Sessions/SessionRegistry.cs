using System.Collections.Concurrent;

namespace Ferry.Receiver.Sessions;

/// <summary>The open sessions of this receiver, found by the id the data channel's Hello frame carries.</summary>
public sealed class SessionRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, ReceiveSession> _sessions = new();

    public void Add(ReceiveSession session) => _sessions[session.IdText] = session;

    /// <summary>
    /// Closes the open sessions of a source and drops their unfinished images: the agent started
    /// again, and the latest run is the one that counts. Called before the new session's images are made.
    /// </summary>
    public void CloseSessionsOf(string sourceName)
    {
        foreach (var old in _sessions.Values.Where(s => s.SourceName == sourceName).ToList())
        {
            Remove(old);
            old.Dispose();
        }
    }

    /// <summary>Whether a session of <paramref name="sourceName"/> is open under another job's token (which a new session must not replace).</summary>
    public bool IsHeldByAnotherJob(string sourceName, ReadOnlySpan<byte> tokenKey)
    {
        foreach (var s in _sessions.Values)
        {
            if (s.SourceName == sourceName && !s.IsOwnedBy(tokenKey))
            {
                return true;
            }
        }
        return false;
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
