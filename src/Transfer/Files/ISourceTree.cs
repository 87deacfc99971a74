using Ferry.Disks.Files;
using Ferry.Transfer.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Transfer.Files;

/// <summary>A source filesystem as the file sender sees it.</summary>
public interface ISourceTree
{
    /// <summary>The index file frames name this tree by.</summary>
    uint Tree { get; }

    /// <summary>Depth first: a directory's entry, then its entries (and theirs), then its end.</summary>
    IEnumerable<TreeItem> Walk();

    /// <summary>Opens a regular file for reading, with its status as opened; null when it has vanished or is no longer a regular file.</summary>
    (SafeFileHandle Handle, FileStatus Status)? OpenFile(byte[] path);

    /// <summary>A fresh entry for a path that changed while it was read; null when it has vanished.</summary>
    FileEntry? Restat(byte[] path);
}
