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
    private BlockDevice(string path, SafeFileHandle handle, long sizeBytes, int logicalSectorSize)
    {
        Path = path;
        Handle = handle;
        SizeBytes = sizeBytes;
        LogicalSectorSize = logicalSectorSize;
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
            return new BlockDevice(path, handle, checked((long)size), sector);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>.</summary>
    public void ReadExactly(Span<byte> buffer, long offset) => ReadExactly(Handle, Path, buffer, offset);

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

    public void Dispose() => Handle.Dispose();
}
