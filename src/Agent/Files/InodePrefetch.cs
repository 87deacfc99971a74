using Ferry.Disks.Files;
using Ferry.Transfer.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Agent.Files;

/// <summary>
/// Reads a tree's directories and inodes ahead of its walk, on a few threads. The walk must go in
/// order, one stat at a time, and on a cold cache each stat waits for its inode to be read: 50,000
/// files took 1.15 s to walk that way here, 0.45 s with a few reads in flight. This only lists and
/// stats, in about the walk's order (depth first, names sorted) and at most <see cref="Budget"/>
/// entries ahead of it, so the cache it fills is the one the walk is about to use; what the walk
/// sends is still what the walk itself reads. It never crosses into another filesystem and skips
/// what the walk excludes. Failures are ignored: the walk meets them itself and reports them.
/// </summary>
internal sealed class InodePrefetch : IDisposable
{
    private const int Threads = 4;
    private const int Budget = 16384;

    private readonly SafeFileHandle _root;
    private readonly ulong _device;
    private readonly Func<byte[], bool> _excludedDirectory;
    private readonly Stack<byte[]> _pending = new();
    private readonly object _gate = new();
    private readonly Thread[] _threads;
    private long _ahead;
    private int _busy;
    private bool _stopped;

    /// <param name="excludedDirectory">Whether the walk skips the directory at this path (relative to the root).</param>
    public InodePrefetch(SafeFileHandle root, ulong device, Func<byte[], bool> excludedDirectory)
    {
        _root = root;
        _device = device;
        _excludedDirectory = excludedDirectory;
        _pending.Push([]);
        _threads = [.. Enumerable.Range(0, Threads).Select(i => new Thread(Run) { IsBackground = true, Name = "ferry-prefetch-" + i })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
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
        while (Take() is { } path)
        {
            List<byte[]> subdirectories = [];
            var listed = 0;
            try
            {
                listed = Visit(path, subdirectories);
            }
            catch (PosixException)
            {
                // Vanished or unreadable: the walk will say so if it matters.
            }
            lock (_gate)
            {
                _ahead += listed;
                // Smallest name on top: taken first, as the walk goes.
                for (var i = subdirectories.Count - 1; i >= 0; i--)
                {
                    _pending.Push(subdirectories[i]);
                }
                _busy--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>The next directory to read, or null once the tree is done or the walk is over.</summary>
    private byte[]? Take()
    {
        lock (_gate)
        {
            while (!_stopped && (_pending.Count == 0 || _ahead >= Budget))
            {
                if (_pending.Count == 0 && _busy == 0)
                {
                    _stopped = true;
                    Monitor.PulseAll(_gate);
                    break;
                }
                Monitor.Wait(_gate);
            }
            if (_stopped)
            {
                return null;
            }
            _busy++;
            return _pending.Pop();
        }
    }

    private int Visit(byte[] path, List<byte[]> subdirectories)
    {
        using var dir = path.Length == 0 ? PosixFiles.OpenDirectoryAt(_root, "."u8) : PosixFiles.OpenDirectoryAt(_root, path);
        var names = PosixFiles.ReadDirectory(dir);
        names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        foreach (var name in names)
        {
            if (Volatile.Read(ref _stopped))
            {
                break;
            }
            if (PosixFiles.TryStatAt(dir, name, out var status) && status.IsDirectory && status.Device == _device)
            {
                var child = EntryPath.Join(path, name);
                if (!_excludedDirectory(child))
                {
                    subdirectories.Add(child);
                }
            }
        }
        return names.Count;
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
