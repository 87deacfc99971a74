using System.Runtime.InteropServices;
using Xunit;

namespace Ferry.Tests;

/// <summary>Which pages of a file or device the page cache holds: mincore(2) on a mapping of it.</summary>
internal static class PageCache
{
    /// <summary>How many 4 KiB pages of the range [offset, offset + length) of <paramref name="path"/> are cached.</summary>
    public static int CachedPages(string path, long offset, int length)
    {
        using var handle = File.OpenHandle(path);
        const int ProtRead = 1, MapShared = 1;
        var map = Mmap(0, (nuint)length, ProtRead, MapShared, (int)handle.DangerousGetHandle(), offset);
        Assert.True(map != -1, $"mmap of {path} failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var pages = new byte[length / 4096];
            Assert.True(Mincore(map, (nuint)length, pages) == 0, $"mincore failed: errno {Marshal.GetLastPInvokeError()}");
            return pages.Count(p => (p & 1) != 0);
        }
        finally
        {
            _ = Munmap(map, (nuint)length);
        }
    }

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static extern int Mincore(nint address, nuint length, [Out] byte[] pages);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int Munmap(nint address, nuint length);
}
