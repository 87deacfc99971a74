using System.Runtime.InteropServices;

namespace Ferry.Disks.Interop;

/// <summary>
/// The *at(2) family, statx, xattrs and directory reading: what file replication needs to work on
/// byte-string names relative to an open directory, never through a path that could follow a link.
/// Names are NUL-terminated byte strings, because Linux file names need not be valid UTF-8.
/// </summary>
internal static unsafe partial class Libc
{
    public const int AtFdCwd = -100;
    public const int AtSymlinkNofollow = 0x100;
    public const int AtRemoveDir = 0x200;
    public const int AtEmptyPath = 0x1000;

    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int ONoctty = 0x100;
    public const int OTrunc = 0x200;
    public const int ONonblock = 0x800;
    public const int ODirect = 0x4000;
    public const int ODirectory = 0x10000;
    public const int ONofollow = 0x20000;
    public const int OCloexec = 0x80000;
    public const int OPath = 0x200000;

    public const int SeekData = 3;
    public const int SeekHole = 4;

    /// <summary>STATX_BASIC_STATS: type, mode, nlink, uid, gid, times, ino, size, blocks.</summary>
    public const uint StatxBasicStats = 0x7ff;

    public const int StatxSize = 256;

    /// <summary>openat2(2)'s RESOLVE_IN_ROOT: "/" and ".." stop at the starting directory, symlinks included.</summary>
    public const ulong ResolveInRoot = 0x10;

    /// <summary>RESOLVE_NO_MAGICLINKS: no /proc/PID/fd-style links.</summary>
    public const ulong ResolveNoMagiclinks = 0x02;

    /// <summary>RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH: no other mount, no symlink anywhere on the path, never above the start.</summary>
    public const ulong ResolveStrictlyBeneath = 0x01 | 0x04 | 0x08;

    private const long SysOpenat2 = 437;

    /// <summary>openat2(2) (Linux 5.6+), which glibc 2.36 has no wrapper for; <paramref name="how"/> is struct open_how (flags, mode, resolve).</summary>
    public static int OpenAt2(int dirfd, byte* name, ulong* how) => (int)Syscall(SysOpenat2, dirfd, name, how, 24);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int dirfd, byte* name, ulong* how, nuint size);

    private const long SysGetxattrat = 464;
    private const long SysListxattrat = 465;

    /// <summary>
    /// listxattrat(2) (Linux 6.13+; ENOSYS before) of a name in a directory, not following a symlink: the xattrs of a
    /// walked name without a path through /proc.
    /// </summary>
    public static nint ListXattrAt(int dirfd, byte* name, byte* list, nuint size) =>
        (nint)Syscall(SysListxattrat, dirfd, name, AtSymlinkNofollow, list, size);

    /// <summary>getxattrat(2) (Linux 6.13+): <paramref name="args"/> is struct xattr_args (value pointer; size and flags, 32 bits each).</summary>
    public static nint GetXattrAt(int dirfd, byte* name, byte* attribute, ulong* args) =>
        (nint)Syscall(SysGetxattrat, dirfd, name, AtSymlinkNofollow, attribute, args, 16);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int dirfd, byte* name, int flags, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int dirfd, byte* name, int flags, byte* attribute, ulong* args, nuint size);

    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int dirfd, byte* name, int flags, uint mode);

    [LibraryImport(Library, EntryPoint = "pwrite64", SetLastError = true)]
    public static partial nint PWrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true)]
    public static partial int Statx(int dirfd, byte* name, int flags, uint mask, byte* buffer);

    [LibraryImport(Library, EntryPoint = "readlinkat", SetLastError = true)]
    public static partial nint ReadLinkAt(int dirfd, byte* name, byte* buffer, nuint size);

    [LibraryImport(Library, EntryPoint = "mkdirat", SetLastError = true)]
    public static partial int MkdirAt(int dirfd, byte* name, uint mode);

    [LibraryImport(Library, EntryPoint = "mknodat", SetLastError = true)]
    public static partial int MknodAt(int dirfd, byte* name, uint mode, ulong dev);

    [LibraryImport(Library, EntryPoint = "symlinkat", SetLastError = true)]
    public static partial int SymlinkAt(byte* target, int dirfd, byte* name);

    [LibraryImport(Library, EntryPoint = "linkat", SetLastError = true)]
    public static partial int LinkAt(int olddirfd, byte* oldname, int newdirfd, byte* newname, int flags);

    [LibraryImport(Library, EntryPoint = "renameat", SetLastError = true)]
    public static partial int RenameAt(int olddirfd, byte* oldname, int newdirfd, byte* newname);

    [LibraryImport(Library, EntryPoint = "unlinkat", SetLastError = true)]
    public static partial int UnlinkAt(int dirfd, byte* name, int flags);

    [LibraryImport(Library, EntryPoint = "fchownat", SetLastError = true)]
    public static partial int FchownAt(int dirfd, byte* name, uint uid, uint gid, int flags);

    [LibraryImport(Library, EntryPoint = "futimens", SetLastError = true)]
    public static partial int Futimens(int fd, long* times);

    [LibraryImport(Library, EntryPoint = "fchmod", SetLastError = true)]
    public static partial int Fchmod(int fd, uint mode);

    [LibraryImport(Library, EntryPoint = "fchmodat", SetLastError = true)]
    public static partial int FchmodAt(int dirfd, byte* name, uint mode, int flags);

    [LibraryImport(Library, EntryPoint = "utimensat", SetLastError = true)]
    public static partial int UtimensAt(int dirfd, byte* name, long* times, int flags);

    [LibraryImport(Library, EntryPoint = "lgetxattr", SetLastError = true)]
    public static partial nint LGetXattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(Library, EntryPoint = "llistxattr", SetLastError = true)]
    public static partial nint LListXattr(byte* path, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "lsetxattr", SetLastError = true)]
    public static partial int LSetXattr(byte* path, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Library, EntryPoint = "lremovexattr", SetLastError = true)]
    public static partial int LRemoveXattr(byte* path, byte* name);

    [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport(Library, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport(Library, EntryPoint = "syncfs", SetLastError = true)]
    public static partial int SyncFs(int fd);

    [LibraryImport(Library, EntryPoint = "fdopendir", SetLastError = true)]
    public static partial nint FdOpenDir(int fd);

    [LibraryImport(Library, EntryPoint = "readdir", SetLastError = true)]
    public static partial nint ReadDir(nint dir);

    [LibraryImport(Library, EntryPoint = "closedir", SetLastError = true)]
    public static partial int CloseDir(nint dir);
}
