using System.Text;
using Ferry.Disks.Files;
using Ferry.Transfer.Files;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Agent.Files;

/// <summary>
/// One mounted source filesystem, walked depth first by directory descriptor (names are bytes, so
/// any file name survives) without crossing into other filesystems: a mount point beneath it is
/// sent as an empty directory, as <c>rsync -x</c> does. Excluded paths are skipped with all they
/// hold. A file with several links is sent once; its other names go as hard links to the first.
/// </summary>
public sealed class SourceTree : ISourceTree, IDisposable
{
    private readonly SafeFileHandle _root;
    private readonly string _mountPoint;
    private readonly ExcludeList _excludes;
    private readonly Action<string> _warn;
    private readonly Dictionary<(ulong Device, ulong Inode), byte[]> _linked = [];
    private DirectoryPrefetch? _prefetch;

    /// <param name="path">Where the filesystem is mounted on this machine.</param>
    /// <param name="mountPoint">Where the source mounts it ("/", "/data"): excludes are matched against paths beneath it.</param>
    public SourceTree(uint tree, string path, string mountPoint, ExcludeList excludes, Action<string> warn)
    {
        Tree = tree;
        _mountPoint = mountPoint;
        _excludes = excludes;
        _warn = warn;
        _root = PosixFiles.OpenDirectory(path);
    }

    public uint Tree { get; }

    /// <summary>
    /// Starts reading the tree's directories ahead of the walk to come: while the session opens (a tenth of a second or
    /// more), the first of them are read (each is checked again when the walk gets there).
    /// </summary>
    public void ReadAhead() => _prefetch ??= NewPrefetch(PosixFiles.Stat(_root));

    public IEnumerable<TreeItem> Walk()
    {
        // Each walk describes the whole tree anew (a reconnected sync walks again): a hard link's first path is this walk's.
        _linked.Clear();
        var rootStatus = PosixFiles.Stat(_root);
        yield return TreeItem.Of(Entry(_root, "."u8, [], rootStatus));
        // What was read ahead serves the first walk; a later one (after a reconnection) reads anew.
        using var prefetch = _prefetch ?? NewPrefetch(rootStatus);
        _prefetch = null;
        var stack = new Stack<WalkFrame>();
        stack.Push(Enter(prefetch, PosixFiles.OpenDirectoryAt(_root, "."u8), []));
        try
        {
            while (stack.Count > 0)
            {
                var top = stack.Peek();
                if (top.Next >= top.Scan.Names.Count)
                {
                    stack.Pop().Handle.Dispose();
                    yield return TreeItem.End(top.Path);
                    continue;
                }
                var name = top.Scan.Names[top.Next];
                var found = top.Scan.Statuses[top.Next++];
                prefetch.Walked();
                if (found is not { } status)
                {
                    continue; // vanished since the directory was listed
                }
                var path = EntryPath.Join(top.Path, name);
                if (_excludes.IsExcluded(SourcePath(path), status.IsDirectory))
                {
                    continue;
                }
                if (!status.IsDirectory && status.LinkCount > 1)
                {
                    if (_linked.TryGetValue((status.Device, status.Inode), out var first))
                    {
                        yield return TreeItem.Of(new FileEntry { Path = ByteString.CopyFrom(path), Kind = FileKind.Hardlink, Link = ByteString.CopyFrom(first) });
                        continue;
                    }
                    _linked[(status.Device, status.Inode)] = path;
                }
                FileEntry entry;
                try
                {
                    entry = Entry(top.Handle, name, path, status);
                }
                catch (PosixException e) when (e.Errno == PosixException.NoEntry)
                {
                    continue;
                }
                yield return TreeItem.Of(entry);
                if (!status.IsDirectory)
                {
                    continue;
                }
                if (status.Device != rootStatus.Device)
                {
                    yield return TreeItem.End(path); // another filesystem is mounted here: it is a tree of its own, or not migrated
                    continue;
                }
                SafeFileHandle? child = null;
                try
                {
                    child = PosixFiles.OpenDirectoryAt(top.Handle, name);
                }
                catch (PosixException e) when (e.Errno is PosixException.NoEntry or PosixException.NotDirectory or PosixException.Loop)
                {
                    _warn($"{SourcePath(path)} vanished or changed while it was being read; skipped");
                }
                if (child is null)
                {
                    yield return TreeItem.End(path);
                    continue;
                }
                stack.Push(Enter(prefetch, child, path));
            }
        }
        finally
        {
            while (stack.Count > 0)
            {
                stack.Pop().Handle.Dispose();
            }
        }
    }

    private DirectoryPrefetch NewPrefetch(FileStatus root) =>
        new(_root, root.Device, path => _excludes.IsExcluded(SourcePath(path), isDirectory: true));

    /// <summary>The walk's frame for a directory it opened: its names and statuses (the descriptor is closed if they cannot be read).</summary>
    private static WalkFrame Enter(DirectoryPrefetch prefetch, SafeFileHandle dir, byte[] path)
    {
        try
        {
            return new WalkFrame(dir, path, prefetch.Take(path, dir));
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    public (SafeFileHandle Handle, FileStatus Status)? OpenFile(byte[] path)
    {
        SafeFileHandle handle;
        try
        {
            // No symlink on the way: a directory of the path swapped for one since the walk would lead out of the tree.
            handle = PosixFiles.OpenReadBeneath(_root, path);
        }
        catch (PosixException e) when (e.Errno is PosixException.NoEntry or PosixException.NotDirectory or PosixException.Loop or PosixException.CrossDevice)
        {
            return null;
        }
        var status = PosixFiles.Stat(handle);
        if (!status.IsRegular)
        {
            handle.Dispose();
            return null;
        }
        return (handle, status);
    }

    public FileEntry? Restat(byte[] path)
    {
        try
        {
            return PosixFiles.TryStatAt(_root, path, out var status) && status.IsRegular ? Entry(_root, path, path, status) : null;
        }
        catch (PosixException e) when (e.Errno == PosixException.NoEntry)
        {
            return null;
        }
    }

    /// <summary>The path as the source sees it, for excludes and messages: "/data" + "/x/y".</summary>
    private string SourcePath(byte[] path) =>
        (_mountPoint == "/" ? "/" : _mountPoint + "/") + Encoding.UTF8.GetString(path);

    private static FileEntry Entry(SafeFileHandle dir, ReadOnlySpan<byte> name, byte[] path, FileStatus s)
    {
        var entry = new FileEntry
        {
            Path = ByteString.CopyFrom(path),
            Kind = Kind(s),
            Mode = s.Permissions,
            Uid = s.Uid,
            Gid = s.Gid,
            MtimeSeconds = s.Modify.Seconds,
            MtimeNanos = s.Modify.Nanoseconds,
            AtimeSeconds = s.Access.Seconds,
            AtimeNanos = s.Access.Nanoseconds,
            Size = s.IsRegular ? (ulong)s.Size : 0,
            RdevMajor = s.RdevMajor,
            RdevMinor = s.RdevMinor,
        };
        if (s.IsSymlink)
        {
            entry.Link = ByteString.CopyFrom(PosixFiles.ReadLinkAt(dir, name));
        }
        foreach (var (attribute, value) in PosixFiles.ListXattrsAt(dir, name))
        {
            entry.Xattrs.Add(new Xattr { Name = ByteString.CopyFrom(attribute), Value = ByteString.CopyFrom(value) });
        }
        return entry;
    }

    private static FileKind Kind(FileStatus s) => s.Type switch
    {
        FileStatus.Regular => FileKind.Regular,
        FileStatus.Directory => FileKind.Directory,
        FileStatus.Symlink => FileKind.Symlink,
        FileStatus.CharDevice => FileKind.CharDevice,
        FileStatus.BlockDevice => FileKind.BlockDevice,
        FileStatus.Fifo => FileKind.Fifo,
        _ => FileKind.Socket,
    };

    public void Dispose()
    {
        _prefetch?.Dispose();
        _root.Dispose();
    }
}
