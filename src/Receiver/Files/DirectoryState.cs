using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>A directory whose entries are still arriving: its handle and the names the source has in it.</summary>
internal sealed class DirectoryState(SafeFileHandle handle) : IDisposable
{
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>Names listed so far (Latin-1 keys, one char a byte).</summary>
    public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

    public void Dispose() => Handle.Dispose();
}
