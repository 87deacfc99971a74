using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Ferry.Control.Jobs;

/// <summary>
/// Tells connected agents that a job of theirs changed. Each agent's open WatchJobs stream has a
/// small bounded channel; a change is a wake-up (the stream then sends the job's current state), so
/// a full channel loses nothing.
/// </summary>
public sealed class JobDispatcher
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Channel<string>, byte>> _watchers = new();

    public Channel<string> Watch(string sourceId)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(4) { FullMode = BoundedChannelFullMode.DropOldest });
        _watchers.GetOrAdd(sourceId, _ => new())[channel] = 0;
        return channel;
    }

    public void Unwatch(string sourceId, Channel<string> channel)
    {
        if (_watchers.TryGetValue(sourceId, out var set))
        {
            set.TryRemove(channel, out _);
        }
    }

    public void Notify(string sourceId, string jobId)
    {
        if (_watchers.TryGetValue(sourceId, out var set))
        {
            foreach (var channel in set.Keys)
            {
                channel.Writer.TryWrite(jobId);
            }
        }
    }

    public bool IsWatched(string sourceId) => _watchers.TryGetValue(sourceId, out var set) && !set.IsEmpty;
}
