using System.Runtime.InteropServices;
using System.Text;
using Ferry.Disks.Interop;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Disks.Files;

/// <summary>
/// File operations relative to an open directory, on byte-string names that never contain '/'.
/// Nothing here follows a symbolic link: directories are opened with O_NOFOLLOW, metadata calls use
/// AT_SYMLINK_NOFOLLOW, and extended attributes go through the l* calls on
/// <c>/proc/self/fd/DIR/NAME</c>, which resolves the directory by descriptor and the name without
/// following it. That is what lets the receiver write beneath a target root whatever the stream says.
/// </summary>
public static unsafe class PosixFiles
{
    /// <summary>Opens a trusted directory path (a mount point); the walk beneath it goes by descriptor.</summary>
    public static SafeFileHandle OpenDirectory(string path)
    {
        var bytes = Z(Encoding.UTF8.GetBytes(path));
        fixed (byte* p = bytes)
        {
            var fd = Libc.OpenAt(Libc.AtFdCwd, p, Libc.ORdOnly | Libc.ODirectory | Libc.OCloexec, 0);
            return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Fail("open", path);
        }
    }

    /// <summary>Opens <paramref name="path"/> with O_DIRECT (read-only, or read-write); null where the device or filesystem refuses it.</summary>
    public static SafeFileHandle? TryOpenDirect(string path, bool write = false)
    {
        var bytes = Z(Encoding.UTF8.GetBytes(path));
        fixed (byte* p = bytes)
        {
            var fd = Libc.OpenAt(Libc.AtFdCwd, p, (write ? Libc.ORdWr : Libc.ORdOnly) | Libc.ODirect | Libc.OCloexec, 0);
            return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
        }
    }

    /// <summary>Opens the subdirectory <paramref name="name"/>; fails with ENOTDIR or ELOOP if it is a symlink.</summary>
    public static SafeFileHandle OpenDirectoryAt(SafeFileHandle dir, ReadOnlySpan<byte> name) =>
        OpenAt(dir, name, Libc.ORdOnly | Libc.ODirectory | Libc.ONofollow | Libc.OCloexec, 0, "open directory");

    /// <summary>Opens a regular file for reading; never a symlink, and never blocks on a FIFO swapped in.</summary>
    public static SafeFileHandle OpenReadAt(SafeFileHandle dir, ReadOnlySpan<byte> name) =>
        OpenAt(dir, name, Libc.ORdOnly | Libc.ONofollow | Libc.ONoctty | Libc.ONonblock | Libc.OCloexec, 0, "open");

    /// <summary>Opens an existing regular file for reading and writing in place; never a symlink, never blocks on a FIFO.</summary>
    public static SafeFileHandle OpenReadWriteAt(SafeFileHandle dir, ReadOnlySpan<byte> name) =>
        OpenAt(dir, name, Libc.ORdWr | Libc.ONofollow | Libc.ONoctty | Libc.ONonblock | Libc.OCloexec, 0, "open");

    /// <summary>
    /// Opens <paramref name="path"/> beneath <paramref name="root"/> as if <paramref name="root"/>
    /// were "/": absolute symlinks and ".." resolve inside it and can never reach the host (openat2
    /// with RESOLVE_IN_ROOT). For configuration files of a target system, whose links are the source's.
    /// </summary>
    public static SafeFileHandle OpenInRoot(SafeFileHandle root, string path, int flags, uint mode = 0)
    {
        var bytes = Z(Encoding.UTF8.GetBytes(path));
        // struct open_how; openat2 refuses a mode without O_CREAT, where openat ignored it.
        var how = stackalloc ulong[3] { (ulong)(flags | Libc.OCloexec | Libc.ONoctty), mode, Libc.ResolveInRoot | Libc.ResolveNoMagiclinks };
        fixed (byte* p = bytes)
        {
            var fd = Libc.OpenAt2(Fd(root), p, how);
            return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Fail("open", path);
        }
    }

    /// <summary>Opens a regular file at a walked path for reading, as <see cref="OpenReadAt"/> does a name (see <see cref="OpenBeneath"/>).</summary>
    public static SafeFileHandle OpenReadBeneath(SafeFileHandle dir, ReadOnlySpan<byte> path) =>
        OpenBeneath(dir, path, Libc.ORdOnly | Libc.ONonblock);

    /// <summary>Opens the directory at a walked path (see <see cref="OpenBeneath"/>).</summary>
    public static SafeFileHandle OpenDirectoryBeneath(SafeFileHandle dir, ReadOnlySpan<byte> path) =>
        OpenBeneath(dir, path, Libc.ORdOnly | Libc.ODirectory);

    /// <summary>openat2 is missing (before Linux 5.6): <see cref="OpenBeneath"/> opens one component at a time.</summary>
    private static volatile bool _noOpenat2;

    /// <summary>
    /// Opens a relative <paramref name="path"/> beneath <paramref name="dir"/> with no symlink on any component and
    /// without crossing into another mount (openat2 with RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS and RESOLVE_NO_XDEV; before
    /// Linux 5.6, each directory opened from the last with O_NOFOLLOW). A walked path that a directory swapped for a
    /// symlink would lead elsewhere fails with ELOOP (or EXDEV, ENOTDIR) instead of being followed.
    /// </summary>
    private static SafeFileHandle OpenBeneath(SafeFileHandle dir, ReadOnlySpan<byte> path, int flags)
    {
        flags |= Libc.ONofollow | Libc.OCloexec | Libc.ONoctty;
        if (!_noOpenat2)
        {
            var z = Z(path);
            var how = stackalloc ulong[3] { (ulong)flags, 0, Libc.ResolveStrictlyBeneath };
            fixed (byte* p = z)
            {
                var fd = Libc.OpenAt2(Fd(dir), p, how);
                if (fd >= 0)
                {
                    return new SafeFileHandle(fd, ownsHandle: true);
                }
                var errno = Marshal.GetLastPInvokeError();
                if (errno is not (PosixException.NoSystemCall or 1))
                {
                    throw new PosixException(errno, "open", Show(path));
                }
                _noOpenat2 = true;
            }
        }
        var slash = path.LastIndexOf((byte)'/');
        SafeFileHandle? current = null;
        try
        {
            var directories = slash < 0 ? [] : path[..slash];
            if (!directories.IsEmpty)
            {
                foreach (var range in directories.Split((byte)'/'))
                {
                    var next = OpenDirectoryAt(current ?? dir, directories[range]);
                    current?.Dispose();
                    current = next;
                }
            }
            return OpenAt(current ?? dir, path[(slash + 1)..], flags, 0, "open");
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>Creates a new file (0600, less the umask, unless <paramref name="mode"/> says otherwise) that must not exist yet, for writing.</summary>
    public static SafeFileHandle CreateExclusiveAt(SafeFileHandle dir, ReadOnlySpan<byte> name, uint mode = 0x180) =>
        OpenAt(dir, name, Libc.ORdWr | Libc.OCreat | Libc.OExcl | Libc.ONofollow | Libc.OCloexec, mode, "create");

    /// <summary>The permission bits a file created with <paramref name="mode"/> gets: the process's umask takes its bits away.</summary>
    public static uint CreatedMode(uint mode) => mode & ~Umask.Value;

    /// <summary>
    /// Read once from /proc/self/status (umask(2) can only be read by setting it, which would race other threads);
    /// unknown, every bit counts as masked, so callers set the mode they want explicitly.
    /// </summary>
    private static readonly Lazy<uint> Umask = new(() =>
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Umask:", StringComparison.Ordinal));
            return line is null ? 0x1FFu : Convert.ToUInt32(line["Umask:".Length..].Trim(), 8);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0x1FFu;
        }
    });

    public static bool TryStatAt(SafeFileHandle dir, ReadOnlySpan<byte> name, out FileStatus status)
    {
        Span<byte> buffer = stackalloc byte[Libc.StatxSize];
        var z = Z(name);
        fixed (byte* n = z)
        fixed (byte* b = buffer)
        {
            if (Libc.Statx(Fd(dir), n, Libc.AtSymlinkNofollow, Libc.StatxBasicStats, b) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                status = default;
                return errno is PosixException.NoEntry or PosixException.NotDirectory ? false : throw new PosixException(errno, "stat", Show(name));
            }
        }
        status = FileStatus.Parse(buffer);
        return true;
    }

    /// <summary>statx of an open descriptor.</summary>
    public static FileStatus Stat(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[Libc.StatxSize];
        byte empty = 0;
        fixed (byte* b = buffer)
        {
            if (Libc.Statx(Fd(handle), &empty, Libc.AtEmptyPath | Libc.AtSymlinkNofollow, Libc.StatxBasicStats, b) != 0)
            {
                throw Fail("stat", "(descriptor)");
            }
        }
        return FileStatus.Parse(buffer);
    }

    /// <summary>The names in a directory, without "." and "..", in the order the filesystem gives them.</summary>
    public static List<byte[]> ReadDirectory(SafeFileHandle dir)
    {
        // fdopendir takes over its descriptor, so it gets a fresh one and the caller keeps theirs.
        var own = OpenAt(dir, "."u8, Libc.ORdOnly | Libc.ODirectory | Libc.OCloexec, 0, "open directory");
        var fd = (int)own.DangerousGetHandle();
        own.SetHandleAsInvalid();
        var stream = Libc.FdOpenDir(fd);
        if (stream == 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Libc.Close(fd);
            throw new PosixException(errno, "opendir", "(descriptor)");
        }
        var names = new List<byte[]>();
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var entry = Libc.ReadDir(stream);
                if (entry == 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    return errno == 0 ? names : throw new PosixException(errno, "readdir", "(descriptor)");
                }
                // struct dirent64 on x86-64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[].
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)entry + 19);
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    names.Add(name.ToArray());
                }
            }
        }
        finally
        {
            Libc.CloseDir(stream);
        }
    }

    public static byte[] ReadLinkAt(SafeFileHandle dir, ReadOnlySpan<byte> name)
    {
        var z = Z(name);
        var buffer = new byte[4096];
        fixed (byte* n = z)
        fixed (byte* b = buffer)
        {
            var got = Libc.ReadLinkAt(Fd(dir), n, b, (nuint)buffer.Length);
            return got >= 0 ? buffer[..(int)got] : throw Fail("readlink", Show(name));
        }
    }

    public static void MkdirAt(SafeFileHandle dir, ReadOnlySpan<byte> name, uint mode) =>
        Check(Call(dir, name, (d, n) => Libc.MkdirAt(d, n, mode)), "mkdir", name);

    /// <summary>Creates a device node, FIFO or socket; <paramref name="mode"/> carries the file type.</summary>
    public static void MknodAt(SafeFileHandle dir, ReadOnlySpan<byte> name, uint mode, uint major, uint minor) =>
        Check(Call(dir, name, (d, n) => Libc.MknodAt(d, n, mode, MakeDev(major, minor))), "mknod", name);

    public static void SymlinkAt(ReadOnlySpan<byte> target, SafeFileHandle dir, ReadOnlySpan<byte> name)
    {
        var t = Z(target);
        fixed (byte* tp = t)
        {
            var local = tp;
            Check(Call(dir, name, (d, n) => Libc.SymlinkAt(local, d, n)), "symlink", name);
        }
    }

    /// <summary>chown of an open file (no lookup by name).</summary>
    public static void Chown(SafeFileHandle file, uint uid, uint gid)
    {
        byte empty = 0;
        if (Libc.FchownAt(Fd(file), &empty, uid, gid, Libc.AtEmptyPath) != 0)
        {
            throw Fail("chown", "(descriptor)");
        }
    }

    public static void Chmod(SafeFileHandle file, uint mode)
    {
        if (Libc.Fchmod(Fd(file), mode) != 0)
        {
            throw Fail("chmod", "(descriptor)");
        }
    }

    public static void SetTimes(SafeFileHandle file, FileTime access, FileTime modify)
    {
        var times = stackalloc long[4] { access.Seconds, access.Nanoseconds, modify.Seconds, modify.Nanoseconds };
        if (Libc.Futimens(Fd(file), times) != 0)
        {
            throw Fail("utimensat", "(descriptor)");
        }
    }

    /// <summary>Hard-links <paramref name="oldName"/> in <paramref name="oldDir"/> as <paramref name="newName"/> (no symlink following).</summary>
    public static void LinkAt(SafeFileHandle oldDir, ReadOnlySpan<byte> oldName, SafeFileHandle newDir, ReadOnlySpan<byte> newName)
    {
        var o = Z(oldName);
        var n = Z(newName);
        fixed (byte* op = o)
        fixed (byte* np = n)
        {
            if (Libc.LinkAt(Fd(oldDir), op, Fd(newDir), np, 0) != 0)
            {
                throw Fail("link", Show(newName));
            }
        }
    }

    public static void RenameAt(SafeFileHandle oldDir, ReadOnlySpan<byte> oldName, SafeFileHandle newDir, ReadOnlySpan<byte> newName)
    {
        var o = Z(oldName);
        var n = Z(newName);
        fixed (byte* op = o)
        fixed (byte* np = n)
        {
            if (Libc.RenameAt(Fd(oldDir), op, Fd(newDir), np) != 0)
            {
                throw Fail("rename", Show(newName));
            }
        }
    }

    /// <summary>Removes a name; false when it did not exist.</summary>
    public static bool UnlinkAt(SafeFileHandle dir, ReadOnlySpan<byte> name, bool directory)
    {
        var rc = Call(dir, name, (d, n) => Libc.UnlinkAt(d, n, directory ? Libc.AtRemoveDir : 0));
        return rc == 0 || (Marshal.GetLastPInvokeError() == PosixException.NoEntry ? false : throw Fail("remove", Show(name)));
    }

    public static void ChownAt(SafeFileHandle dir, ReadOnlySpan<byte> name, uint uid, uint gid) =>
        Check(Call(dir, name, (d, n) => Libc.FchownAt(d, n, uid, gid, Libc.AtSymlinkNofollow)), "chown", name);

    /// <summary>chmod of a name that is not a symlink (symlinks have no mode of their own on Linux).</summary>
    public static void ChmodAt(SafeFileHandle dir, ReadOnlySpan<byte> name, uint mode) =>
        Check(Call(dir, name, (d, n) => Libc.FchmodAt(d, n, mode, 0)), "chmod", name);

    public static void SetTimesAt(SafeFileHandle dir, ReadOnlySpan<byte> name, FileTime access, FileTime modify)
    {
        var times = stackalloc long[4] { access.Seconds, access.Nanoseconds, modify.Seconds, modify.Nanoseconds };
        Check(Call(dir, name, (d, n) => Libc.UtimensAt(d, n, times, Libc.AtSymlinkNofollow)), "utimensat", name);
    }

    /// <summary>listxattrat and getxattrat are missing (before Linux 6.13): xattrs are read through a /proc/self/fd path.</summary>
    private static volatile bool _noXattrAt;

    /// <summary>All extended attributes of a name (security.*, system.posix_acl_*, trusted.*, user.*).</summary>
    public static List<(byte[] Name, byte[] Value)> ListXattrsAt(SafeFileHandle dir, ReadOnlySpan<byte> name)
    {
        var z = Z(name);
        // The *xattrat calls take the directory and name as they are; the /proc way costs a path lookup through procfs
        // for every name (13% of the agent's time in a repeat sync of 50,000 files).
        var proc = _noXattrAt ? ProcPath(dir, name) : null;
        var result = new List<(byte[], byte[])>();
        fixed (byte* n = z)
        fixed (byte* p = proc)
        {
            var size = ListXattrNames(Fd(dir), n, p, null, 0);
            if (size < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // ENOSYS before 6.13; EPERM from a seccomp filter that does not know the call yet.
                if (errno is PosixException.NoSystemCall or 1 && p is null)
                {
                    _noXattrAt = true;
                    return ListXattrsAt(dir, name);
                }
                return errno == PosixException.NotSupported ? result : throw new PosixException(errno, "listxattr", Show(name));
            }
            if (size == 0)
            {
                return result;
            }
            var list = new byte[size];
            fixed (byte* l = list)
            {
                size = ListXattrNames(Fd(dir), n, p, l, (nuint)list.Length);
                if (size < 0)
                {
                    throw Fail("listxattr", Show(name));
                }
            }
            foreach (var attr in Split(list.AsSpan(0, (int)size)))
            {
                var value = GetXattr(Fd(dir), n, p, attr, name);
                if (value is not null)
                {
                    result.Add((attr, value));
                }
            }
        }
        return result;
    }

    /// <summary>The xattr names of a name, by directory and name, or by its /proc path when <paramref name="proc"/> is given.</summary>
    private static nint ListXattrNames(int dirfd, byte* name, byte* proc, byte* list, nuint size) =>
        proc is null ? Libc.ListXattrAt(dirfd, name, list, size) : Libc.LListXattr(proc, list, size);

    private static nint GetXattrValue(int dirfd, byte* name, byte* proc, byte* attribute, byte* value, nuint size)
    {
        if (proc is not null)
        {
            return Libc.LGetXattr(proc, attribute, value, size);
        }
        // struct xattr_args: the value's address, then its size (32 bits) and flags (32 bits, none).
        var args = stackalloc ulong[2] { (ulong)value, (uint)size };
        return Libc.GetXattrAt(dirfd, name, attribute, args);
    }

    public static void SetXattrAt(SafeFileHandle dir, ReadOnlySpan<byte> name, ReadOnlySpan<byte> attribute, ReadOnlySpan<byte> value)
    {
        var path = ProcPath(dir, name);
        var a = Z(attribute);
        fixed (byte* p = path)
        fixed (byte* ap = a)
        fixed (byte* v = value)
        {
            if (Libc.LSetXattr(p, ap, v, (nuint)value.Length, 0) != 0)
            {
                throw Fail("setxattr " + Encoding.UTF8.GetString(attribute), Show(name));
            }
        }
    }

    public static void RemoveXattrAt(SafeFileHandle dir, ReadOnlySpan<byte> name, ReadOnlySpan<byte> attribute)
    {
        var path = ProcPath(dir, name);
        var a = Z(attribute);
        fixed (byte* p = path)
        fixed (byte* ap = a)
        {
            if (Libc.LRemoveXattr(p, ap) != 0 && Marshal.GetLastPInvokeError() != PosixException.NoData)
            {
                throw Fail("removexattr", Show(name));
            }
        }
    }

    /// <summary>The next offset at or after <paramref name="offset"/> that holds data, or -1 when none does.</summary>
    public static long SeekData(SafeFileHandle handle, long offset) => Seek(handle, offset, Libc.SeekData);

    /// <summary>The next hole at or after <paramref name="offset"/> (the end of the file counts as one), or -1 past the end.</summary>
    public static long SeekHole(SafeFileHandle handle, long offset) => Seek(handle, offset, Libc.SeekHole);

    /// <summary>
    /// Writes all of <paramref name="data"/> at <paramref name="offset"/> with pwrite. Unlike RandomAccess.Write it
    /// asks nothing of the descriptor first (that costs an lseek per file: 50,000 of them for 50,000 small files).
    /// </summary>
    public static void WriteAt(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = Libc.PWrite(Fd(handle), p + done, (nuint)(data.Length - done), offset + done);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == 4)
                    {
                        continue; // EINTR
                    }
                    throw Fail("write", "(descriptor)");
                }
                done += (int)n;
            }
        }
    }

    public static void Truncate(SafeFileHandle handle, long length)
    {
        if (Libc.Ftruncate(Fd(handle), length) != 0)
        {
            throw Fail("truncate", "(descriptor)");
        }
    }

    /// <summary>Makes the whole filesystem holding <paramref name="handle"/> durable.</summary>
    public static void SyncFilesystem(SafeFileHandle handle)
    {
        if (Libc.SyncFs(Fd(handle)) != 0)
        {
            throw Fail("syncfs", "(descriptor)");
        }
    }

    /// <summary>A name for messages: the bytes as UTF-8, invalid sequences replaced.</summary>
    public static string Show(ReadOnlySpan<byte> name) => Encoding.UTF8.GetString(name);

    private static long Seek(SafeFileHandle handle, long offset, int whence)
    {
        var at = Libc.Lseek(Fd(handle), offset, whence);
        if (at >= 0)
        {
            return at;
        }
        // ENXIO: no data (or hole) at or after the offset.
        return Marshal.GetLastPInvokeError() == 6 ? -1 : throw Fail("lseek", "(descriptor)");
    }

    private static byte[]? GetXattr(int dirfd, byte* name, byte* proc, byte[] attribute, ReadOnlySpan<byte> shown)
    {
        var a = Z(attribute);
        fixed (byte* ap = a)
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var size = GetXattrValue(dirfd, name, proc, ap, null, 0);
                if (size < 0)
                {
                    // Removed between list and get: it is simply not there any more.
                    return Marshal.GetLastPInvokeError() == PosixException.NoData ? null : throw Fail("getxattr", Show(shown));
                }
                var value = new byte[size];
                fixed (byte* v = value)
                {
                    var got = size == 0 ? 0 : GetXattrValue(dirfd, name, proc, ap, v, (nuint)value.Length);
                    if (got >= 0)
                    {
                        return value[..(int)got];
                    }
                    if (Marshal.GetLastPInvokeError() != 34)
                    {
                        throw Fail("getxattr", Show(shown));
                    }
                }
                // ERANGE: the value grew between the two calls; ask again.
            }
            throw new PosixException(34, "getxattr", Show(shown));
        }
    }

    private static List<byte[]> Split(ReadOnlySpan<byte> list)
    {
        var names = new List<byte[]>();
        while (!list.IsEmpty)
        {
            var end = list.IndexOf((byte)0);
            var length = end < 0 ? list.Length : end;
            if (length > 0)
            {
                names.Add(list[..length].ToArray());
            }
            list = end < 0 ? [] : list[(end + 1)..];
        }
        return names;
    }

    private static SafeFileHandle OpenAt(SafeFileHandle dir, ReadOnlySpan<byte> name, int flags, uint mode, string operation)
    {
        var z = Z(name);
        fixed (byte* n = z)
        {
            var fd = Libc.OpenAt(Fd(dir), n, flags, mode);
            return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Fail(operation, Show(name));
        }
    }

    private delegate int NameCall(int dirfd, byte* name);

    private static int Call(SafeFileHandle dir, ReadOnlySpan<byte> name, NameCall call)
    {
        var z = Z(name);
        fixed (byte* n = z)
        {
            return call(Fd(dir), n);
        }
    }

    private static void Check(int rc, string operation, ReadOnlySpan<byte> name)
    {
        if (rc != 0)
        {
            throw Fail(operation, Show(name));
        }
    }

    private static PosixException Fail(string operation, string path) => new(Marshal.GetLastPInvokeError(), operation, path);

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static byte[] Z(ReadOnlySpan<byte> name)
    {
        var z = new byte[name.Length + 1];
        name.CopyTo(z);
        return z;
    }

    private static byte[] ProcPath(SafeFileHandle dir, ReadOnlySpan<byte> name)
    {
        var prefix = Encoding.ASCII.GetBytes($"/proc/self/fd/{Fd(dir)}/");
        var path = new byte[prefix.Length + name.Length + 1];
        prefix.CopyTo(path, 0);
        name.CopyTo(path.AsSpan(prefix.Length));
        return path;
    }

    /// <summary>glibc's makedev: 12 bits of major and 20 of minor in the classic places, the rest above.</summary>
    private static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
}
