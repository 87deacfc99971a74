using Ferry.Transfer.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>
/// A directory of the tree being applied: its handle, the names the source has in it while its
/// entries arrive, and the files still arriving into it. Its times are set once it has ended and
/// the last of those files is in place, so that nothing moves them afterwards.
/// </summary>
internal sealed class DirectoryState(SafeFileHandle handle, FileEntry entry) : IDisposable
{
    public SafeFileHandle Handle { get; } = handle;

    public FileEntry Entry { get; } = entry;

    /// <summary>Names listed so far (Latin-1 keys, one char a byte); dropped when the directory ends.</summary>
    public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

    /// <summary>Regular files announced in this directory and not yet in place.</summary>
    public int InFlight { get; set; }

    /// <summary>All its entries have arrived (DirEnd).</summary>
    public bool Ended { get; set; }

    public void Dispose() => Handle.Dispose();
}
