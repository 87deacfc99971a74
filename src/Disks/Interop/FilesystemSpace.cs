using System.Runtime.InteropServices;

namespace Ferry.Disks.Interop;

/// <summary>Size and use of a mounted filesystem, from <c>statvfs</c>.</summary>
public readonly record struct FilesystemSpace(long TotalBytes, long UsedBytes, long AvailableBytes)
{
    public static FilesystemSpace? TryRead(string mountPoint)
    {
        if (Libc.StatVfs(mountPoint, out var s) != 0)
        {
            return null;
        }
        var unit = (long)s.FragmentSize;
        var total = (long)s.Blocks * unit;
        var used = ((long)s.Blocks - (long)s.BlocksFree) * unit;
        return new FilesystemSpace(total, used, (long)s.BlocksAvailable * unit);
    }

    /// <summary>Free space for an unprivileged-by-reservation writer at <paramref name="path"/>.</summary>
    public static long FreeBytesAt(string path)
    {
        if (Libc.StatVfs(path, out var s) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"statvfs {path}: {Libc.Describe(errno)}");
        }
        return (long)s.BlocksAvailable * (long)s.FragmentSize;
    }
}
