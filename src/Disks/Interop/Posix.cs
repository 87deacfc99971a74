using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Disks.Interop;

/// <summary>The system calls other layers need, with errors turned into exceptions that name the path.</summary>
public static class Posix
{
    public static bool IsRoot => Libc.GetEuid() == 0;

    /// <summary>fsync(2): the data written through <paramref name="handle"/> is on stable storage.</summary>
    public static void Fsync(SafeFileHandle handle, string path)
    {
        if (Libc.Fsync((int)handle.DangerousGetHandle()) != 0)
        {
            throw new IOException($"fsync {path}: {Libc.Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>Deallocates a range of a file so it reads as zeros; false when the filesystem cannot.</summary>
    public static bool TryPunchHole(SafeFileHandle handle, long offset, long length) =>
        Libc.Fallocate((int)handle.DangerousGetHandle(), Libc.FallocFlPunchHole | Libc.FallocFlKeepSize, offset, length) == 0;

    /// <summary>Drops cached pages of a file so that the next read comes from the device.</summary>
    public static void DropCache(SafeFileHandle handle) =>
        _ = Libc.PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, Libc.FadvDontNeed);

    /// <summary>FIFREEZE on a filesystem's mount point (an open directory): 0, or the errno that refused it.</summary>
    public static int Freeze(SafeFileHandle mountPoint) =>
        Libc.IoctlInt32((int)mountPoint.DangerousGetHandle(), Libc.FiFreeze, out _) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>FITHAW: 0, or the errno (EINVAL: it was not frozen).</summary>
    public static int Thaw(SafeFileHandle mountPoint) =>
        Libc.IoctlInt32((int)mountPoint.DangerousGetHandle(), Libc.FiThaw, out _) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public const int SigTerm = 15;
    public const int SigKill = 9;

    /// <summary>Starts a new session so that the process outlives the terminal that started it (no SIGHUP).</summary>
    public static void DetachFromTerminal() => _ = Libc.SetSid();

    /// <summary>Sends a signal; false when there is no such process.</summary>
    public static bool Signal(int pid, int signal) => Libc.Kill(pid, signal) == 0;

    /// <summary>Whether a process with this id exists (signal 0 checks without sending).</summary>
    public static bool IsAlive(int pid) => pid > 0 && Libc.Kill(pid, 0) == 0;
}
