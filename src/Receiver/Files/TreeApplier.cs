using Ferry.Disks.Files;
using Ferry.Transfer.Delta;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Files;
using Ferry.Transfer.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>
/// Applies a stream of file entries to one target filesystem without ever leaving its root.
/// Every path is checked (<see cref="EntryPath"/>) and resolved one component at a time from the
/// root's descriptor with O_NOFOLLOW|O_DIRECTORY, so a symlink — from the stream or already on the
/// target — is never followed; names are then acted on with the *at calls that do not follow them
/// either. A hard link may only name a file of the same tree, resolved the same way.
/// A regular file new to its directory is written at its name, and gets its times (what says it is
/// complete) once verified; one that replaces a name arrives into <c>.ferry-partial/</c> at the root
/// and is renamed into place once complete and verified; directories' times are set when their last entry is in; names the source
/// no longer has are deleted when their directory ends.
/// </summary>
internal sealed class TreeApplier : IDisposable
{
    /// <summary>The staging directory's name at the tree's root; entries may not use it.</summary>
    public static readonly byte[] Staging = ".ferry-partial"u8.ToArray();

    public const int MaxInFlight = 4096;
    private const int MaxOpenDirectories = 4096;

    /// <summary>Files patched in place at once: each may hold back <see cref="IncomingFile.MaxPatchBytes"/>.</summary>
    private const int MaxPatching = 16;
    private int _patching;

    private readonly SafeFileHandle _root;
    private readonly SafeFileHandle _staging;
    private readonly bool _posix;
    private readonly ILogger _log;
    private readonly Dictionary<string, DirectoryState> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, IncomingFile> _inFlight = [];
    private readonly Dictionary<string, ulong> _inFlightByPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<byte[]>> _pendingLinks = new(StringComparer.Ordinal);

    /// <summary>Path bytes of the hard links waiting for their file; capped so that a stream of links cannot exhaust memory.</summary>
    private long _pendingLinkBytes;
    private const long MaxPendingLinkBytes = 64L << 20;
    private bool _xattrWarned;
    private readonly TreeIndex _index;
    private readonly BackgroundSync _sync;

    /// <param name="posixMetadata">Whether the filesystem keeps owners, modes and xattrs (not vfat).</param>
    /// <param name="index">What the target held after the last complete sync; kept up to date as entries are applied.</param>
    public TreeApplier(string rootPath, bool posixMetadata, ILogger log, TreeIndex? index = null)
    {
        _posix = posixMetadata;
        _log = log;
        _index = index ?? TreeIndex.Unknown();
        _root = PosixFiles.OpenDirectory(rootPath);
        _sync = new BackgroundSync(_root);
        RemoveTree(_root, Staging);
        PosixFiles.MkdirAt(_root, Staging, 0x1C0);
        _staging = PosixFiles.OpenDirectoryAt(_root, Staging);
    }

    public TreeStats Stats { get; } = new();

    /// <summary>Applies one entry; for a regular file, says what the agent must send.</summary>
    /// <param name="hash">The entry's <see cref="TreeIndex.HashOf"/> as it arrived (computed when not given).</param>
    /// <exception cref="FerryException">E_PATH_UNSAFE or E_PROTOCOL: the entry is refused and nothing was written for it.</exception>
    public FileNeed? Apply(FileEntry entry, ulong id, UInt128? hash = null)
    {
        var path = entry.Path.Span;
        EntryPath.Check(path, "entry path");
        CheckMetadata(entry);
        Stats.Entries++;
        var entryHash = hash ?? TreeIndex.HashOf(Google.Protobuf.MessageExtensions.ToByteArray(entry));
        if (path.IsEmpty)
        {
            if (entry.Kind != FileKind.Directory)
            {
                throw new ProtocolException("the root of a tree must be a directory");
            }
            // The root's times always change: the staging directory comes and goes in it.
            OpenDirectory(string.Empty, entry, entryHash, matched: false);
            return null;
        }
        var (parent, name) = EntryPath.Split(path);
        var slash = path.IndexOf((byte)'/');
        if ((slash < 0 ? path : path[..slash]).SequenceEqual(Staging))
        {
            throw new FerryException(ErrorCode.PathUnsafe, $"entry path '{EntryPath.Show(path)}' uses the receiver's staging name");
        }
        var key = EntryPath.Key(path);
        var parentKey = EntryPath.Key(parent);
        _open.TryGetValue(parentKey, out var open);
        if (open is { Ended: false })
        {
            open.Seen.Add(EntryPath.Key(name));
        }
        // What the last sync left here exactly (a hard link is always checked: its file may have been replaced since).
        var matched = entry.Kind != FileKind.Hardlink && _index.Matches(key, entryHash);
        if (matched && entry.Kind != FileKind.Directory)
        {
            Stats.Unchanged += entry.Kind == FileKind.Regular ? 1 : 0;
            return entry.Kind == FileKind.Regular ? FileNeed.Nothing : null;
        }
        if (!matched && open is not null)
        {
            open.Touched = true;
        }
        if (entry.Kind == FileKind.Directory)
        {
            if (!matched)
            {
                var absent = _index.KnowsAbsent(key);
                _index.Unset(key);
                using var parentDir = Resolve(parent);
                if (absent)
                {
                    PosixFiles.MkdirAt(parentDir.Handle, name, 0x1C0);
                }
                else if (!PosixFiles.TryStatAt(parentDir.Handle, name, out var existing) || !existing.IsDirectory)
                {
                    RemoveTree(parentDir.Handle, name);
                    // What was there is gone with all beneath it; a directory is being made in its place.
                    _index.Forget(key);
                    _index.Unset(key);
                    PosixFiles.MkdirAt(parentDir.Handle, name, 0x1C0);
                }
            }
            OpenDirectory(key, entry, entryHash, matched);
            return null;
        }
        if (entry.Kind != FileKind.Regular)
        {
            _index.Forget(key);
        }
        using var dir = Resolve(parent);
        switch (entry.Kind)
        {
            case FileKind.Symlink:
                if (entry.Link.IsEmpty || entry.Link.Length > EntryPath.MaxLength || entry.Link.Span.IndexOf((byte)0) >= 0)
                {
                    throw new ProtocolException($"symlink '{EntryPath.Show(path)}' has an empty or malformed target");
                }
                RemoveTree(dir.Handle, name);
                PosixFiles.SymlinkAt(entry.Link.Span, dir.Handle, name);
                ApplyMetadata(dir.Handle, name, entry, symlink: true);
                _index.Record(key, entryHash);
                return null;
            case FileKind.CharDevice or FileKind.BlockDevice or FileKind.Fifo or FileKind.Socket:
                RemoveTree(dir.Handle, name);
                // FIFOs and sockets have no device number, whatever the stream says.
                var device = entry.Kind is FileKind.CharDevice or FileKind.BlockDevice;
                PosixFiles.MknodAt(dir.Handle, name, TypeBits(entry.Kind) | (entry.Mode & 0xFFF), device ? entry.RdevMajor : 0, device ? entry.RdevMinor : 0);
                ApplyMetadata(dir.Handle, name, entry, symlink: false);
                _index.Record(key, entryHash);
                return null;
            case FileKind.Hardlink:
                EntryPath.Check(entry.Link.Span, "hard link target");
                var target = EntryPath.Key(entry.Link.Span);
                if (target == key)
                {
                    throw new ProtocolException($"hard link '{EntryPath.Show(path)}' names itself");
                }
                // Known as a name of its directory (never matched: its file may be replaced).
                _index.Record(key, entryHash);
                if (_inFlightByPath.ContainsKey(target))
                {
                    // The file it links to is still arriving: link once it is in place.
                    _pendingLinkBytes += path.Length;
                    if (_pendingLinkBytes > MaxPendingLinkBytes)
                    {
                        throw new ProtocolException($"more than {MaxPendingLinkBytes >> 20} MiB of hard links wait for files still arriving");
                    }
                    (_pendingLinks.TryGetValue(target, out var list) ? list : _pendingLinks[target] = []).Add(path.ToArray());
                    return null;
                }
                CreateLink(entry.Link.ToByteArray(), dir.Handle, name);
                return null;
            case FileKind.Regular:
                return StartFile(entry, entryHash, id, dir.Handle, parent, name, key);
            default:
                throw new ProtocolException($"entry '{EntryPath.Show(path)}' has unknown kind {entry.Kind}");
        }
    }

    /// <summary>Largest extended attribute value Linux takes (XATTR_SIZE_MAX) and longest name (XATTR_NAME_MAX).</summary>
    private const int MaxXattrValue = 65536;
    private const int MaxXattrName = 255;

    /// <summary>
    /// Refuses metadata no filesystem could hold before anything is written, so that a malformed entry is
    /// a protocol error with its reason, never a write failure of the receiver: nanoseconds of a second
    /// or more, device numbers past Linux's 12-bit major and 20-bit minor, xattrs past the kernel's limits.
    /// </summary>
    private static void CheckMetadata(FileEntry entry)
    {
        if (entry.MtimeNanos >= 1_000_000_000 || entry.AtimeNanos >= 1_000_000_000)
        {
            throw new ProtocolException($"entry '{EntryPath.Show(entry.Path.Span)}' has a time with {Math.Max(entry.MtimeNanos, entry.AtimeNanos)} nanoseconds");
        }
        if (entry.Kind is FileKind.CharDevice or FileKind.BlockDevice && (entry.RdevMajor >= 1 << 12 || entry.RdevMinor >= 1 << 20))
        {
            throw new ProtocolException($"device '{EntryPath.Show(entry.Path.Span)}' has an impossible number {entry.RdevMajor}:{entry.RdevMinor}");
        }
        foreach (var x in entry.Xattrs)
        {
            if (x.Name.IsEmpty || x.Name.Length > MaxXattrName || x.Name.Span.IndexOf((byte)0) >= 0 || x.Value.Length > MaxXattrValue)
            {
                throw new ProtocolException($"entry '{EntryPath.Show(entry.Path.Span)}' has an extended attribute with a malformed name or a value over 64 KiB");
            }
        }
    }

    /// <summary>File data at <paramref name="offset"/> (already checked against its checksum).</summary>
    public void Write(ulong id, long offset, ReadOnlySpan<byte> data)
    {
        var file = Find(id);
        if (!file.Damaged)
        {
            file.WriteAt(offset, data);
            _sync.Written(data.Length);
        }
    }

    public void ApplyDelta(ulong id, ReadOnlySpan<byte> ops)
    {
        var file = Find(id);
        if (!file.Damaged)
        {
            DeltaOps.Apply(ops, file.BlockCount, file);
        }
    }

    /// <summary>A frame of this file failed its checksum: the file will be asked for again.</summary>
    public void MarkDamaged(ulong id) => Find(id).Damaged = true;

    /// <summary>Completes a file; false when its content did not verify and it must be sent again whole.</summary>
    public bool End(ulong id, long size, ulong checksum, bool vanished)
    {
        var file = Find(id);
        _inFlight.Remove(id);
        _patching -= file.CountsAsPatch ? 1 : 0;
        var key = EntryPath.Key(EntryPath.Join(file.Parent, file.Name));
        _inFlightByPath.Remove(key);
        try
        {
            return EndFile(file, key, size, checksum, vanished);
        }
        finally
        {
            if (file.HoldsParent)
            {
                ReleaseDirectory(EntryPath.Key(file.Parent));
            }
        }
    }

    private bool EndFile(IncomingFile file, string key, long size, ulong checksum, bool vanished)
    {
        using (file)
        {
            if (vanished)
            {
                DropContent(file);
                using var dir = Resolve(file.Parent);
                RemoveTree(dir.Handle, file.Name);
                _index.Forget(key);
                if (_pendingLinks.Remove(key, out var links))
                {
                    _pendingLinkBytes -= links.Sum(l => (long)l.Length);
                    _log.LogWarning("{Count} hard link(s) to {Path} dropped: the file vanished on the source", links.Count, EntryPath.Show(EntryPath.Join(file.Parent, file.Name)));
                }
                return true;
            }
            if (!file.Finish(size, checksum))
            {
                DropContent(file);
                Stats.Resent++;
                // The same path is announced again; keep its pending links for the new copy.
                return false;
            }
            // While its descriptor is open: an unnamed file is linked by it.
            Place(file);
        }
        return true;
    }

    /// <summary>A file that will not be placed: its name goes, staged or made in place (an old copy still being patched was not touched).</summary>
    private void DropContent(IncomingFile file)
    {
        if (file.Patching)
        {
            return;
        }
        if (!file.InPlace)
        {
            PosixFiles.UnlinkAt(_staging, file.TempName, directory: false);
            return;
        }
        using var dir = Resolve(file.Parent);
        PosixFiles.UnlinkAt(dir.Handle, file.Name, directory: false);
    }

    /// <summary>All entries of a directory are in: delete what the source no longer has, set its times.</summary>
    public void EndDirectory(ReadOnlySpan<byte> path)
    {
        EntryPath.Check(path, "directory path");
        var key = EntryPath.Key(path);
        if (!_open.TryGetValue(key, out var open) || open.Ended)
        {
            throw new ProtocolException($"directory end for '{EntryPath.Show(path)}', which is not open");
        }
        // The names it holds: as the index knows them, or as the target lists them.
        var isRoot = path.IsEmpty;
        var held = _index.ChildrenOf(key)?.Select(n => System.Text.Encoding.Latin1.GetBytes(n)).ToList()
            ?? PosixFiles.ReadDirectory(HandleOf(open)).Where(n => !(isRoot && n.AsSpan().SequenceEqual(Staging))).ToList();
        foreach (var name in held)
        {
            var nameKey = EntryPath.Key(name);
            if (!open.Seen.Contains(nameKey))
            {
                RemoveTree(HandleOf(open), name);
                _index.Forget(EntryPath.Key(EntryPath.Join(path, name)));
                open.Touched = true;
                Stats.Deleted++;
            }
        }
        open.Ended = true;
        open.Seen.Clear();
        if (open.InFlight == 0)
        {
            CloseDirectory(key, open);
        }
    }

    /// <summary>A file of this directory is in place (or given up): the last one lets an ended directory close.</summary>
    private void ReleaseDirectory(string key)
    {
        if (_open.TryGetValue(key, out var open) && --open.InFlight == 0 && open.Ended)
        {
            CloseDirectory(key, open);
        }
    }

    /// <summary>Sets an ended directory's times (nothing changes in it any more) and lets it go.</summary>
    private void CloseDirectory(string key, DirectoryState open)
    {
        _open.Remove(key);
        using (open)
        {
            if (!open.Matched || open.Touched)
            {
                PosixFiles.SetTimesAt(HandleOf(open), "."u8, Access(open.Entry), Modify(open.Entry));
            }
            // Known once its times are right.
            _index.Record(key, open.Hash);
        }
    }

    /// <summary>The tree is complete: nothing may be left unfinished; the staging directory goes and the filesystem is synced.</summary>
    public void EndTree()
    {
        if (_inFlight.Count > 0)
        {
            throw new ProtocolException($"the tree ended with {_inFlight.Count} file(s) unfinished");
        }
        foreach (var (target, links) in _pendingLinks)
        {
            _log.LogWarning("{Count} hard link(s) to {Path} not made: the file never arrived", links.Count, target);
        }
        _pendingLinks.Clear();
        _pendingLinkBytes = 0;
        foreach (var (key, open) in _open.ToList())
        {
            if (open.Ended)
            {
                CloseDirectory(key, open);
            }
        }
        foreach (var open in _open.Values)
        {
            open.Dispose();
        }
        _open.Clear();
        PreservingTimes(_root, () => RemoveTree(_root, Staging));
        _sync.Wait();
        PosixFiles.SyncFilesystem(_root);
        _index.Complete = true;
    }

    private FileNeed StartFile(FileEntry entry, UInt128 hash, ulong id, SafeFileHandle dir, byte[] parent, byte[] name, string key)
    {
        if (_inFlight.Count >= MaxInFlight || _inFlight.ContainsKey(id) || _inFlightByPath.ContainsKey(key))
        {
            throw new ProtocolException($"file id {id} is already in flight, or more than {MaxInFlight} files are");
        }
        FileStatus current = default;
        var exists = !_index.KnowsAbsent(key) && PosixFiles.TryStatAt(dir, name, out current);
        if (exists && current.IsRegular && current.Size == (long)entry.Size && current.Modify == Modify(entry))
        {
            ApplyMetadata(dir, name, entry, symlink: false, current: current);
            _index.Record(key, hash);
            Stats.Unchanged++;
            return FileNeed.Nothing;
        }
        _index.Unset(key);

        _open.TryGetValue(EntryPath.Key(parent), out var directory);
        // A new name in a directory still open (its times are set when it closes) is made and written where it belongs:
        // no staging name, no rename. Its times, which are what says it is complete, are set only once its content
        // verified, so a copy cut short never passes for the source's file (and a new session sends it again).
        var temp = !exists && directory is { Ended: false } ? CreateInPlace(dir, name, entry.Mode) : null;
        var inPlace = temp is not null;
        var delta = exists && current.IsRegular && current.Size > 0 && entry.Size > 0;
        // The old copy may be patched (IncomingFile.Patching) when it is the only name of its file and patches in flight are few.
        var basis = delta && current.LinkCount == 1 && _patching < MaxPatching ? TryOpenForPatch(dir, name) : null;
        var patch = basis is not null;
        if (!patch)
        {
            temp ??= CreateStaged(IncomingFile.TempNameOf(id));
        }
        try
        {
            var need = FileNeed.Whole;
            var blockSize = 0;
            if (delta)
            {
                basis ??= PosixFiles.OpenReadAt(dir, name);
                blockSize = BlockSignature.BlockSizeFor(current.Size);
                need = new FileNeed(FileNeedKind.Delta, blockSize, basis, current.Size);
            }
            var file = new IncomingFile(id, entry, parent, name, temp, basis, current.Size, blockSize, patch ? () => CreateStaged(IncomingFile.TempNameOf(id)) : null)
            {
                ReplacesDirectory = exists && current.IsDirectory,
                Hash = hash,
                InPlace = inPlace,
                CreatedMode = inPlace ? PosixFiles.CreatedMode(entry.Mode & 0x1FF) : PosixFiles.CreatedMode(0x180),
                Existing = exists ? current : null,
                CountsAsPatch = patch,
            };
            _patching += patch ? 1 : 0;
            _inFlight[id] = file;
            _inFlightByPath[key] = id;
            if (directory is not null)
            {
                // Its directory stays open (handle and times) until the file is in place.
                directory.InFlight++;
                file.HoldsParent = true;
            }
            if (entry.Size == 0)
            {
                End(id, 0, System.IO.Hashing.XxHash3.HashToUInt64([]), vanished: false);
                return FileNeed.Nothing;
            }
            return need;
        }
        catch
        {
            temp?.Dispose();
            basis?.Dispose();
            throw;
        }
    }

    /// <summary>The old copy, open for reading and writing; null where it cannot be written (immutable, read-only), so it is staged instead.</summary>
    private static SafeFileHandle? TryOpenForPatch(SafeFileHandle dir, byte[] name)
    {
        try
        {
            return PosixFiles.OpenReadWriteAt(dir, name);
        }
        catch (PosixException)
        {
            return null;
        }
    }

    /// <summary>Makes a new name with its permission bits (so most files need no chmod); null when the name exists after all.</summary>
    private static SafeFileHandle? CreateInPlace(SafeFileHandle dir, byte[] name, uint mode)
    {
        try
        {
            return PosixFiles.CreateExclusiveAt(dir, name, mode & 0x1FF);
        }
        catch (PosixException e) when (e.Errno == PosixException.Exists)
        {
            // Made since it was looked up: it is replaced whole, by rename, once complete.
            return null;
        }
    }

    private SafeFileHandle CreateStaged(byte[] tempName)
    {
        try
        {
            return PosixFiles.CreateExclusiveAt(_staging, tempName);
        }
        catch (PosixException e) when (e.Errno == PosixException.Exists)
        {
            // Left by an earlier connection of this session under the same id.
            PosixFiles.UnlinkAt(_staging, tempName, directory: false);
            return PosixFiles.CreateExclusiveAt(_staging, tempName);
        }
    }

    private void Place(IncomingFile file)
    {
        var path = EntryPath.Join(file.Parent, file.Name);
        using var dir = Resolve(file.Parent);
        if (file.Patching)
        {
            // The old copy, patched: what differs from what it had is set, by name, as for an unchanged file.
            ApplyMetadata(dir.Handle, file.Name, file.Entry, symlink: false, current: file.Existing);
        }
        else
        {
            ApplyNewFileMetadata(file, dir.Handle);
        }
        var key = EntryPath.Key(path);
        if (!file.InPlace && !file.Patching)
        {
            PreservingTimesUnlessOpen(file.Parent, dir.Handle, () =>
            {
                if (file.ReplacesDirectory)
                {
                    RemoveTree(dir.Handle, file.Name);
                    _index.Forget(key);
                }
                PosixFiles.RenameAt(_staging, file.TempName, dir.Handle, file.Name);
            });
        }
        _index.Record(key, file.Hash);
        Stats.FilesWritten++;
        if (_pendingLinks.Remove(key, out var links))
        {
            _pendingLinkBytes -= links.Sum(l => (long)l.Length);
            foreach (var link in links)
            {
                var (linkParent, linkName) = EntryPath.Split(link);
                using var linkDir = Resolve(linkParent);
                PreservingTimesUnlessOpen(linkParent, linkDir.Handle, () => CreateLink(path, linkDir.Handle, linkName));
            }
        }
    }

    private void CreateLink(byte[] target, SafeFileHandle dir, byte[] name)
    {
        var (targetParent, targetName) = EntryPath.Split(target);
        using var targetDir = Resolve(targetParent);
        if (!PosixFiles.TryStatAt(targetDir.Handle, targetName, out var existing))
        {
            _log.LogWarning("Hard link {Name} not made: its target {Target} is not on the receiver", EntryPath.Show(name), EntryPath.Show(target));
            return;
        }
        if (existing.IsDirectory)
        {
            throw new FerryException(ErrorCode.PathUnsafe, $"hard link to '{EntryPath.Show(target)}', which is a directory");
        }
        if (PosixFiles.TryStatAt(dir, name, out var current))
        {
            if (current.Inode == existing.Inode && current.Device == existing.Device)
            {
                return;
            }
            RemoveTree(dir, name);
        }
        PosixFiles.LinkAt(targetDir.Handle, targetName, dir, name);
    }

    /// <param name="matched">The index holds the directory as it is: nothing to set, and no handle until one is needed.</param>
    private void OpenDirectory(string key, FileEntry entry, UInt128 hash, bool matched)
    {
        if (_open.ContainsKey(key) || _open.Count >= MaxOpenDirectories)
        {
            throw new ProtocolException($"directory '{EntryPath.Show(entry.Path.Span)}' is announced twice, or too many directories are open");
        }
        var open = new DirectoryState(entry.Path.ToByteArray(), entry, hash, matched);
        _open[key] = open;
        if (!matched)
        {
            ApplyMetadata(HandleOf(open), "."u8, entry, symlink: false, times: false);
        }
    }

    /// <summary>An open directory's handle, opened on first use (from its parent, never through a symlink).</summary>
    private SafeFileHandle HandleOf(DirectoryState open)
    {
        if (open.Handle is null)
        {
            if (open.Path.Length == 0)
            {
                open.Handle = PosixFiles.OpenDirectoryAt(_root, "."u8);
            }
            else
            {
                var (parent, name) = EntryPath.Split(open.Path);
                using var dir = Resolve(parent);
                open.Handle = OpenChildDirectory(dir, name, open.Path);
            }
        }
        return open.Handle;
    }

    /// <param name="current">What the target already has, when known: what already matches is left alone (an unchanged file costs a stat and a listxattr).</param>
    private void ApplyMetadata(SafeFileHandle dir, ReadOnlySpan<byte> name, FileEntry entry, bool symlink, bool times = true, FileStatus? current = null)
    {
        if (_posix)
        {
            // Owner first: chown clears setuid/setgid and file capabilities, which the mode and xattrs then set.
            var chown = current is not { } c || c.Uid != entry.Uid || c.Gid != entry.Gid;
            if (chown)
            {
                PosixFiles.ChownAt(dir, name, entry.Uid, entry.Gid);
            }
            if (!symlink && (chown || current?.Permissions != (entry.Mode & 0xFFF)))
            {
                PosixFiles.ChmodAt(dir, name, entry.Mode & 0xFFF);
            }
            SyncXattrs(dir, name, entry);
        }
        if (times && (current is not { } s || s.Modify != Modify(entry) || s.Access != Access(entry)))
        {
            PosixFiles.SetTimesAt(dir, name, Access(entry), Modify(entry));
        }
    }

    private void SyncXattrs(SafeFileHandle dir, ReadOnlySpan<byte> name, FileEntry entry)
    {
        try
        {
            var current = PosixFiles.ListXattrsAt(dir, name);
            foreach (var (attribute, _) in current)
            {
                if (!entry.Xattrs.Any(x => x.Name.Span.SequenceEqual(attribute)) && !attribute.AsSpan().StartsWith("security.selinux"u8))
                {
                    PosixFiles.RemoveXattrAt(dir, name, attribute);
                }
            }
            foreach (var x in entry.Xattrs)
            {
                if (x.Name.IsEmpty || x.Name.Span.IndexOf((byte)0) >= 0)
                {
                    throw new ProtocolException("an extended attribute has an empty or malformed name");
                }
                if (!current.Any(c => c.Name.AsSpan().SequenceEqual(x.Name.Span) && c.Value.AsSpan().SequenceEqual(x.Value.Span)))
                {
                    PosixFiles.SetXattrAt(dir, name, x.Name.Span, x.Value.Span);
                }
            }
        }
        catch (PosixException e) when (e.Errno is 22 or 34 or 7)
        {
            // EINVAL, ERANGE, E2BIG: the value is malformed for its name (an ACL or a capability that does not parse).
            throw new ProtocolException($"an extended attribute of '{PosixFiles.Show(name)}' is malformed: {e.Message}");
        }
        catch (PosixException e) when (e.Errno == 28)
        {
            // ENOSPC here is the file's xattr space, not the disk: say so rather than "disk full".
            throw new IOException($"the target filesystem has no room for the extended attributes of '{PosixFiles.Show(name)}' " +
                "(an ext4 inode holds about 4 KiB of them; use a larger inode size or XFS for this mount point)", e);
        }
        catch (PosixException e) when (e.Errno is PosixException.NotSupported or 1)
        {
            if (!_xattrWarned)
            {
                _xattrWarned = true;
                _log.LogWarning("Extended attributes could not all be set on the target ({Message}); continuing without them", e.Message);
            }
        }
    }

    /// <summary>
    /// A new file, staged or made in place (root's, no xattrs, <see cref="IncomingFile.CreatedMode"/>), gets the entry's
    /// owner, mode, xattrs and times by its descriptor, with no more calls than differ.
    /// </summary>
    private void ApplyNewFileMetadata(IncomingFile file, SafeFileHandle dir)
    {
        var entry = file.Entry;
        if (_posix)
        {
            if (entry.Uid != 0 || entry.Gid != 0)
            {
                PosixFiles.Chown(file.Temp, entry.Uid, entry.Gid);
            }
            // chown keeps plain permission bits; setuid, setgid and sticky are never made by create, so they differ here.
            if (file.CreatedMode != (entry.Mode & 0xFFF))
            {
                PosixFiles.Chmod(file.Temp, entry.Mode & 0xFFF);
            }
            if (entry.Xattrs.Count > 0)
            {
                SyncXattrs(file.InPlace ? dir : _staging, file.InPlace ? file.Name : file.TempName, entry);
            }
        }
        PosixFiles.SetTimes(file.Temp, Access(entry), Modify(entry));
    }

    /// <summary>A change in a directory still open needs nothing (its times are set when it closes); in a closed one, its times are kept.</summary>
    private void PreservingTimesUnlessOpen(byte[] directory, SafeFileHandle handle, Action change)
    {
        if (_open.ContainsKey(EntryPath.Key(directory)))
        {
            change();
        }
        else
        {
            PreservingTimes(handle, change);
        }
    }

    /// <summary>Runs a change inside a directory that must not move the directory's own times.</summary>
    private static void PreservingTimes(SafeFileHandle dir, Action change)
    {
        var had = PosixFiles.TryStatAt(dir, "."u8, out var before);
        change();
        if (had)
        {
            PosixFiles.SetTimesAt(dir, "."u8, before.Access, before.Modify);
        }
    }

    /// <summary>Removes a name and, for a directory, everything beneath it; nothing when it does not exist.</summary>
    private static void RemoveTree(SafeFileHandle dir, ReadOnlySpan<byte> name)
    {
        if (!PosixFiles.TryStatAt(dir, name, out var status))
        {
            return;
        }
        if (status.IsDirectory)
        {
            using var handle = PosixFiles.OpenDirectoryAt(dir, name);
            foreach (var child in PosixFiles.ReadDirectory(handle))
            {
                RemoveTree(handle, child);
            }
        }
        PosixFiles.UnlinkAt(dir, name, status.IsDirectory);
    }

    /// <summary>Opens the directory at <paramref name="path"/> beneath the root, one component at a time, never through a symlink.</summary>
    private DirectoryLease Resolve(byte[] path)
    {
        if (_open.TryGetValue(EntryPath.Key(path), out var open))
        {
            return new DirectoryLease(HandleOf(open), owned: false);
        }
        var current = new DirectoryLease(_root, owned: false);
        if (path.Length == 0)
        {
            return current;
        }
        foreach (var range in path.AsSpan().Split((byte)'/'))
        {
            SafeFileHandle next;
            try
            {
                next = OpenChildDirectory(current, path.AsSpan()[range], path);
            }
            finally
            {
                current.Dispose();
            }
            current = new DirectoryLease(next, owned: true);
        }
        return current;
    }

    private static SafeFileHandle OpenChildDirectory(DirectoryLease dir, ReadOnlySpan<byte> name, byte[] path)
    {
        try
        {
            return PosixFiles.OpenDirectoryAt(dir.Handle, name);
        }
        catch (PosixException e) when (e.Errno is PosixException.NotDirectory or PosixException.Loop)
        {
            throw new FerryException(ErrorCode.PathUnsafe,
                $"'{EntryPath.Show(path)}' leads through something that is not a directory on the target (a symlink is never followed)");
        }
        catch (PosixException e) when (e.Errno == PosixException.NoEntry)
        {
            throw new ProtocolException($"directory '{EntryPath.Show(path)}' does not exist on the target: entries must follow their directory");
        }
    }

    private IncomingFile Find(ulong id) =>
        _inFlight.TryGetValue(id, out var file) ? file : throw new ProtocolException($"file id {id} is not in flight");

    private static uint TypeBits(FileKind kind) => kind switch
    {
        FileKind.CharDevice => FileStatus.CharDevice,
        FileKind.BlockDevice => FileStatus.BlockDevice,
        FileKind.Fifo => FileStatus.Fifo,
        _ => FileStatus.Socket,
    };

    private static FileTime Modify(FileEntry e) => new(e.MtimeSeconds, e.MtimeNanos);

    private static FileTime Access(FileEntry e) => new(e.AtimeSeconds, e.AtimeNanos);

    public void Dispose()
    {
        _sync.Dispose();
        foreach (var file in _inFlight.Values)
        {
            file.Dispose();
        }
        _inFlight.Clear();
        foreach (var open in _open.Values)
        {
            open.Dispose();
        }
        _open.Clear();
        _staging.Dispose();
        _root.Dispose();
    }
}
