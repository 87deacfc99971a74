using Ferry.Transfer.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>
/// A directory of the tree being applied: its handle (opened when first needed), the names the
/// source has in it while its entries arrive, and the files still arriving into it. Its times are set
/// once it has ended and the last of those files is in place, so that nothing moves them afterwards.
/// </summary>
internal sealed class DirectoryState(byte[] path, FileEntry entry, UInt128 hash, bool matched) : IDisposable
{
    public byte[] Path { get; } = path;

    public SafeFileHandle? Handle { get; set; }

    public FileEntry Entry { get; } = entry;

    /// <summary>The entry's hash, recorded in the tree's index when the directory closes.</summary>
    public UInt128 Hash { get; } = hash;

    /// <summary>The index held the directory exactly as the entry says: its times need setting only if something in it changed.</summary>
    public bool Matched { get; } = matched;

    /// <summary>A name in it was created, replaced or removed in this session (which moves its times).</summary>
    public bool Touched { get; set; }

    /// <summary>Names listed so far (Latin-1 keys, one char a byte); dropped when the directory ends.</summary>
    public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

    /// <summary>Regular files announced in this directory and not yet in place.</summary>
    public int InFlight { get; set; }

    /// <summary>All its entries have arrived (DirEnd).</summary>
    public bool Ended { get; set; }

    public void Dispose() => Handle?.Dispose();
}
