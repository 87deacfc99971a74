using System.Runtime.InteropServices;

namespace Ferry.Disks.Interop;

/// <summary>
/// The few libc calls that .NET does not expose. Declared with <c>[LibraryImport]</c> so that the
/// native agent stays one file: no helper library is shipped beside it.
/// </summary>
internal static partial class Libc
{
    private const string Library = "libc.so.6";

    // <linux/fs.h>: _IOR(0x12, 114, size_t) and _IO(0x12, 104).
    public const ulong BlkGetSize64 = 0x80081272;
    public const ulong BlkSszGet = 0x1268;
    // <linux/fs.h>: _IOWR('X', 119, int) and _IOWR('X', 120, int).
    public const ulong FiFreeze = 0xC0045877;
    public const ulong FiThaw = 0xC0045878;

    public const int FallocFlKeepSize = 0x01;
    public const int FallocFlPunchHole = 0x02;

    public const int Enotty = 25;

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlUInt64(int fd, ulong request, out ulong value);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlInt32(int fd, ulong request, out int value);

    [LibraryImport(Library, EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long length);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport(Library, EntryPoint = "posix_fadvise", SetLastError = true)]
    public static partial int PosixFadvise(int fd, long offset, long length, int advice);

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport(Library, EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport(Library, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Library, EntryPoint = "statvfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int StatVfs(string path, out StatVfsBuffer buffer);

    public const int FadvSequential = 2;
    public const int FadvDontNeed = 4;

    /// <summary>Human-readable text for an errno value, for error messages.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
