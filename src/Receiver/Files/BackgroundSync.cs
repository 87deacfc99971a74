using Ferry.Disks.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>
/// Writes a target filesystem out while its tree arrives: a syncfs in the background after each <see cref="Every"/> bytes
/// of file data, one at a time. Left to itself the kernel keeps it all dirty (it starts writing back at a tenth of
/// memory), so the tree's closing sync did all the writing at the end: a second of a 50,000-file copy here, which the
/// transfer now overlaps (the closing sync then took 0.05-0.09 s).
/// </summary>
internal sealed class BackgroundSync(SafeFileHandle filesystem) : IDisposable
{
    public const long Every = 64L << 20;

    private long _unsynced;
    private Task? _running;

    public void Written(long bytes)
    {
        _unsynced += bytes;
        if (_unsynced >= Every && _running is not { IsCompleted: false })
        {
            _unsynced = 0;
            _running = Task.Run(() => PosixFiles.SyncFilesystem(filesystem));
        }
    }

    /// <summary>Waits for the sync in progress; its error (the disk failed) is the caller's.</summary>
    public void Wait() => _running?.GetAwaiter().GetResult();

    public void Dispose()
    {
        try
        {
            _running?.Wait();
        }
        catch (AggregateException)
        {
            // The tree is being given up; a failing disk is reported by whatever uses it next.
        }
    }
}
