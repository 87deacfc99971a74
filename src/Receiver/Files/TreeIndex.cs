using System.Buffers.Binary;
using System.IO.Hashing;
using Ferry.Receiver.Targets;

namespace Ferry.Receiver.Files;

/// <summary>
/// What a target tree holds, as the receiver last applied it: for every path, a hash of the entry
/// (name, kind, size, times, owner, mode, xattrs, link) it applied there. A repeat sync then knows an
/// unchanged entry without touching the target (no stat, no listxattr; for 50,000 files about 1 s of
/// a cold filesystem), and knows which names a directory holds without listing it.
/// Saved beside the working disks only after a complete tree and once the disk is detached, sealed
/// with the disk image's identity (<see cref="ImageIdentity"/>); loading consumes the file, so a
/// session that dies leaves none. An index that is missing, damaged or whose image was touched since
/// is not used: every entry is then checked against the target, as without one.
/// </summary>
public sealed class TreeIndex
{
    private static readonly byte[] Magic = "FERRYTI1"u8.ToArray();
    private const int HeaderBytes = 8 + ImageIdentity.Bytes + 8;

    private readonly Dictionary<string, UInt128> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _children = new(StringComparer.Ordinal);

    /// <summary>Names being changed: something is there, but not yet what an entry says.</summary>
    private readonly HashSet<string> _changing = new(StringComparer.Ordinal);

    private TreeIndex(bool known) => Known = known;

    /// <summary>Whether the index describes the whole target (loaded sealed); otherwise nothing matches and directories are listed.</summary>
    public bool Known { get; }

    /// <summary>Whether a whole tree was applied in this session, so that the index describes all of it and may be saved.</summary>
    public bool Complete { get; set; }

    public int Count => _entries.Count;

    /// <summary>An index that knows nothing yet (new disks, or none could be trusted); it learns as the tree is applied.</summary>
    public static TreeIndex Unknown() => new(known: false);

    /// <summary>
    /// The index of a filesystem just made: it holds exactly the names at its root that mkfs put there
    /// (lost+found), as nothing any entry matches, so that the sync need not look for what cannot exist.
    /// </summary>
    public static TreeIndex Fresh(IEnumerable<string> rootNames)
    {
        var index = new TreeIndex(known: true);
        foreach (var name in rootNames)
        {
            index.Record(name, UInt128.Zero);
        }
        return index;
    }

    public static UInt128 HashOf(ReadOnlySpan<byte> entryPayload) => XxHash128.HashToUInt128(entryPayload);

    /// <summary>The target holds exactly this entry at <paramref name="key"/>.</summary>
    public bool Matches(string key, UInt128 hash) => Known && _entries.TryGetValue(key, out var held) && held == hash;

    /// <summary>The target certainly has nothing at <paramref name="key"/>: no need to look.</summary>
    public bool KnowsAbsent(string key) => Known && !_entries.ContainsKey(key) && !_changing.Contains(key);

    /// <summary>The names beneath a directory, when the index knows them.</summary>
    public IReadOnlyCollection<string>? ChildrenOf(string key) =>
        !Known ? null : _children.TryGetValue(key, out var names) ? names : [];

    /// <summary>The entry at <paramref name="key"/> was applied as hashed.</summary>
    public void Record(string key, UInt128 hash)
    {
        _entries[key] = hash;
        _changing.Remove(key);
        if (key.Length > 0)
        {
            var (parent, name) = Split(key);
            (_children.TryGetValue(parent, out var names) ? names : _children[parent] = new HashSet<string>(StringComparer.Ordinal)).Add(name);
        }
    }

    /// <summary>
    /// The entry at <paramref name="key"/> is being changed or made: until recorded again it matches nothing and
    /// is not known to be absent (a directory made before its connection ended is there), and what is beneath it stays known.
    /// </summary>
    public void Unset(string key)
    {
        _entries.Remove(key);
        _changing.Add(key);
    }

    /// <summary>The name at <paramref name="key"/> is gone from the target, with all beneath it.</summary>
    public void Forget(string key)
    {
        _entries.Remove(key);
        _changing.Remove(key);
        if (_children.Remove(key, out var names))
        {
            foreach (var name in names)
            {
                Forget(Join(key, name));
            }
        }
        if (key.Length > 0)
        {
            var (parent, name) = Split(key);
            if (_children.TryGetValue(parent, out var siblings))
            {
                siblings.Remove(name);
            }
        }
    }

    /// <summary>Writes the index sealed with <paramref name="identity"/> (temporary file, fsync, rename; 0600).</summary>
    public void Save(string path, byte[] identity)
    {
        if (_changing.Count > 0)
        {
            // Not all of the tree is as its entries say (a complete tree leaves nothing changing; this is a guard).
            return;
        }
        var size = HeaderBytes + 8L;
        foreach (var key in _entries.Keys)
        {
            size += 4 + key.Length + 16;
        }
        var buffer = new byte[size];
        Magic.CopyTo(buffer, 0);
        identity.CopyTo(buffer, 8);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(8 + ImageIdentity.Bytes), _entries.Count);
        var at = HeaderBytes;
        foreach (var (key, hash) in _entries)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at), key.Length);
            at += 4;
            at += System.Text.Encoding.Latin1.GetBytes(key, buffer.AsSpan(at));
            BinaryPrimitives.WriteUInt128LittleEndian(buffer.AsSpan(at), hash);
            at += 16;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(at), XxHash3.HashToUInt64(buffer.AsSpan(0, at)));
        var partial = path + ".partial";
        using (var file = File.OpenHandle(partial, FileMode.Create, FileAccess.Write))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            RandomAccess.Write(file, buffer, 0);
            Disks.Interop.Posix.Fsync(file, partial);
        }
        File.Move(partial, path, overwrite: true);
    }

    /// <summary>
    /// Reads and removes the index at <paramref name="path"/>; an index that is known only when it is
    /// intact and sealed with <paramref name="identity"/>, one that knows nothing otherwise.
    /// </summary>
    public static TreeIndex Consume(string path, byte[] identity)
    {
        if (!File.Exists(path))
        {
            return Unknown();
        }
        byte[] buffer;
        try
        {
            buffer = File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
        if (buffer.Length < HeaderBytes + 8 || !buffer.AsSpan(0, 8).SequenceEqual(Magic) || !buffer.AsSpan(8, ImageIdentity.Bytes).SequenceEqual(identity)
            || BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(buffer.Length - 8)) != XxHash3.HashToUInt64(buffer.AsSpan(0, buffer.Length - 8)))
        {
            return Unknown();
        }
        var index = new TreeIndex(known: true);
        var count = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(8 + ImageIdentity.Bytes));
        var at = HeaderBytes;
        var end = buffer.Length - 8;
        for (long i = 0; i < count; i++)
        {
            if (at + 4 > end)
            {
                return Unknown();
            }
            var length = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(at));
            at += 4;
            if (length < 0 || at + length + 16 > end)
            {
                return Unknown();
            }
            var key = System.Text.Encoding.Latin1.GetString(buffer, at, length);
            at += length;
            index.Record(key, BinaryPrimitives.ReadUInt128LittleEndian(buffer.AsSpan(at)));
            at += 16;
        }
        return at == end ? index : Unknown();
    }

    private static (string Parent, string Name) Split(string key)
    {
        var slash = key.LastIndexOf('/');
        return slash < 0 ? (string.Empty, key) : (key[..slash], key[(slash + 1)..]);
    }

    private static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;
}
