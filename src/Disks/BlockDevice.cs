using System.Runtime.InteropServices;
using Ferry.Disks.Interop;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Disks;

/// <summary>
/// A block device opened for reading (the agent) or writing (a receiver writing to a real disk).
/// Opening proves the path is a block device: <c>BLKGETSIZE64</c> fails with ENOTTY on anything else.
/// </summary>
public sealed class BlockDevice : IDisposable
{
    /// <summary>The same device opened with O_DIRECT, for aligned reads; null where the device refuses it.</summary>
    private readonly SafeFileHandle? _direct;

    /// <summary>Cleared when the device refuses a direct read after all: reads go through the cache from then on.</summary>
    private volatile bool _directReads;

    private BlockDevice(string path, SafeFileHandle handle, long sizeBytes, int logicalSectorSize, SafeFileHandle? direct)
    {
        Path = path;
        Handle = handle;
        SizeBytes = sizeBytes;
        LogicalSectorSize = logicalSectorSize;
        _direct = direct;
        _directReads = direct is not null;
    }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    public long SizeBytes { get; }

    public int LogicalSectorSize { get; }

    /// <summary>Opens <paramref name="path"/> read-only, or throws <see cref="DiskException"/> saying why not.</summary>
    public static BlockDevice OpenRead(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (FileNotFoundException)
        {
            throw new DiskException(DiskError.NotFound, path, $"{path} does not exist.");
        }
        catch (DirectoryNotFoundException)
        {
            throw new DiskException(DiskError.NotFound, path, $"{path} does not exist.");
        }
        catch (UnauthorizedAccessException)
        {
            throw new DiskException(DiskError.PermissionDenied, path, $"{path} cannot be opened: permission denied (run the agent as root).");
        }
        catch (IOException e)
        {
            throw new DiskException(DiskError.NotABlockDevice, path, $"{path} cannot be opened as a block device: {e.Message}");
        }

        try
        {
            var fd = (int)handle.DangerousGetHandle();
            if (Libc.IoctlUInt64(fd, Libc.BlkGetSize64, out var size) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new DiskException(DiskError.NotABlockDevice, path, errno == Libc.Enotty
                    ? $"{path} is not a block device."
                    : $"{path}: cannot read the device size: {Libc.Describe(errno)}");
            }
            var sector = Libc.IoctlInt32(fd, Libc.BlkSszGet, out var ssz) == 0 && ssz is >= 512 and <= 65536 ? ssz : 512;
            _ = Libc.PosixFadvise(fd, 0, 0, Libc.FadvSequential);
            return new BlockDevice(path, handle, checked((long)size), sector, Files.PosixFiles.TryOpenDirect(path));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>. A read whose buffer address,
    /// length and offset are whole sectors (a chunk read into an <see cref="AlignedBuffer"/>) bypasses the page cache
    /// (O_DIRECT): copying a whole disk through the cache would evict the running server's own cached data, and here it
    /// cost about twice the CPU of reading the same disk direct. The kernel writes back the device's dirty cached pages
    /// in the range before such a read, so it sees what a cached read would. Small reads (the filesystem structures the
    /// agent parses) stay cached.
    /// </summary>
    public void ReadExactly(Span<byte> buffer, long offset)
    {
        if (_directReads && AlignedBuffer.IsAligned(buffer, offset, LogicalSectorSize))
        {
            try
            {
                ReadExactly(_direct!, Path, buffer, offset);
                return;
            }
            catch (DiskException)
            {
                // Some devices open with O_DIRECT and then refuse such reads (EINVAL): read cached from now on. A real
                // I/O error fails the cached read below as well, and is reported from there.
                _directReads = false;
            }
        }
        ReadExactly(Handle, Path, buffer, offset);
    }

    /// <summary>Reads exactly the buffer's length at an offset; a short read or an I/O error names the offset.</summary>
    public static void ReadExactly(SafeFileHandle handle, string path, Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(handle, buffer[done..], offset + done);
            }
            catch (IOException e)
            {
                throw new DiskException(DiskError.ReadFailed, path, $"{path}: read error at offset {offset + done}: {e.Message}", offset + done);
            }
            if (n == 0)
            {
                throw new DiskException(DiskError.ReadFailed, path, $"{path}: unexpected end of device at offset {offset + done}.", offset + done);
            }
            done += n;
        }
    }

    public void Dispose()
    {
        Handle.Dispose();
        _direct?.Dispose();
    }
}
