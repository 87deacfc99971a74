using Ferry.Disks.Files;
using Ferry.Transfer.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Agent.Files;

/// <summary>
/// Reads a tree's directories ahead of its walk, on a few threads: each directory's names, sorted, and the status of
/// every name. The walk must go in order, and on a cold cache each stat waits for its inode to be read: 50,000 files
/// took 1.15 s to walk one stat at a time here, 0.45 s with a few reads in flight. The walk takes each directory's
/// listing and statuses from here instead of reading them again (in a repeat sync, the walk's own stats and listings
/// were a fifth of the agent's time). The threads take the directory the walk will reach first (depth first, names sorted;
/// with a stack of what each thread found, they read away from the walk, which then read directories itself), at most
/// <see cref="Budget"/> entries ahead of it; a directory is opened from the root with no symlink on its path and
/// without crossing into another filesystem, and one the walk excludes is not read. A directory the walk reaches
/// before any thread took it, that failed to read, or that is not the directory the walk opened (it was replaced
/// meanwhile), the walk reads itself.
/// </summary>
internal sealed class DirectoryPrefetch : IDisposable
{
    private const int Threads = 4;
    private const int Budget = 16384;

    private readonly SafeFileHandle _root;
    private readonly ulong _device;
    private readonly Func<byte[], bool> _excludedDirectory;
    /// <summary>Directories to read, in the walk's order: the threads read the ones the walk needs first.</summary>
    private readonly SortedSet<byte[]> _pending = new(Comparer<byte[]>.Create((a, b) => EntryPath.CompareTreeOrder(a, b)));

    /// <summary>Directories queued, being read or read and not yet taken by the walk; null while queued or being read.</summary>
    private readonly Dictionary<string, ScannedDirectory?> _slots = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reading = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly Thread[] _threads;
    private long _ahead;
    private bool _stopped;

    /// <param name="excludedDirectory">Whether the walk skips the directory at this path (relative to the root).</param>
    public DirectoryPrefetch(SafeFileHandle root, ulong device, Func<byte[], bool> excludedDirectory)
    {
        _root = root;
        _device = device;
        _excludedDirectory = excludedDirectory;
        Queue([]);
        _threads = [.. Enumerable.Range(0, Threads).Select(i => new Thread(Run) { IsBackground = true, Name = "ferry-prefetch-" + i })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    /// <summary>
    /// The walk enters the directory at <paramref name="path"/>, open at <paramref name="dir"/>: its names and their
    /// statuses, as read ahead when that was this directory, or read now.
    /// </summary>
    public ScannedDirectory Take(byte[] path, SafeFileHandle dir)
    {
        var key = EntryPath.Key(path);
        ScannedDirectory? ahead = null;
        lock (_gate)
        {
            while (_reading.Contains(key))
            {
                Monitor.Wait(_gate);
            }
            if (_slots.Remove(key, out var slot) && slot is not null)
            {
                ahead = slot;
            }
        }
        var opened = PosixFiles.Stat(dir);
        if (ahead is not null && ahead.Is(opened))
        {
            return ahead;
        }
        var scan = ScannedDirectory.Read(dir, opened);
        lock (_gate)
        {
            // What was read ahead is not walked; what is read now will be.
            _ahead += scan.Names.Count - (ahead?.Names.Count ?? 0);
            QueueSubdirectories(path, scan);
            Monitor.PulseAll(_gate);
        }
        return scan;
    }

    /// <summary>The walk took one more name: the prefetch may go one further.</summary>
    public void Walked()
    {
        lock (_gate)
        {
            if (--_ahead == Budget - 1)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void Run()
    {
        while (Next() is { } path)
        {
            var key = EntryPath.Key(path);
            ScannedDirectory? scan = null;
            try
            {
                using var dir = path.Length == 0
                    ? PosixFiles.OpenDirectoryAt(_root, "."u8)
                    : PosixFiles.OpenDirectoryBeneath(_root, path);
                scan = ScannedDirectory.Read(dir);
            }
            catch (PosixException)
            {
                // Vanished or unreadable: the walk reads it itself if it gets there, and says so if it matters.
            }
            lock (_gate)
            {
                _reading.Remove(key);
                if (scan is not null)
                {
                    _slots[key] = scan;
                    _ahead += scan.Names.Count;
                    QueueSubdirectories(path, scan);
                }
                else
                {
                    _slots.Remove(key);
                }
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Queues the subdirectories the walk will enter.</summary>
    private void QueueSubdirectories(byte[] path, ScannedDirectory scan)
    {
        for (var i = scan.Names.Count - 1; i >= 0; i--)
        {
            if (scan.Statuses[i] is { IsDirectory: true } status && status.Device == _device)
            {
                var child = EntryPath.Join(path, scan.Names[i]);
                if (!_excludedDirectory(child))
                {
                    Queue(child);
                }
            }
        }
    }

    private void Queue(byte[] path)
    {
        _slots[EntryPath.Key(path)] = null;
        _pending.Add(path);
    }

    /// <summary>The next directory to read, or null once the walk is over.</summary>
    private byte[]? Next()
    {
        lock (_gate)
        {
            while (true)
            {
                // Idle until the walk is over: a directory the walk reads itself can queue more.
                while (!_stopped && (_pending.Count == 0 || _ahead >= Budget))
                {
                    Monitor.Wait(_gate);
                }
                if (_stopped)
                {
                    return null;
                }
                var path = _pending.Min!;
                _pending.Remove(path);
                var key = EntryPath.Key(path);
                // Taken by the walk already (it read the directory itself), or read: not again.
                if (!_slots.TryGetValue(key, out var slot) || slot is not null || !_reading.Add(key))
                {
                    continue;
                }
                return path;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var thread in _threads)
        {
            thread.Join();
        }
    }
}
