using Ferry.Disks.Interop;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Targets;

/// <summary>
/// A sparse raw image of a source disk. It is written as <c>NAME.raw.partial</c> and renamed to
/// <c>NAME.raw</c> only once complete, so a finished image is never confused with a broken one and an
/// earlier finished image is replaced only by a complete new one.
/// </summary>
public sealed class ImageFileTarget : IDiskTarget
{
    private readonly SafeFileHandle _handle;
    /// <summary>The image opened again with O_DIRECT, for aligned writes; null where its filesystem refuses that.</summary>
    private readonly SafeFileHandle? _direct;
    private readonly string _partialPath;
    /// <summary>Cleared when the filesystem refuses a direct write after all (EINVAL): writes go through the cache from then on.</summary>
    private volatile bool _directWrites;
    private readonly byte[] _zeros = new byte[64 * 1024];

    private ImageFileTarget(string path, string partialPath, SafeFileHandle handle, long size)
    {
        Path = path;
        _partialPath = partialPath;
        _handle = handle;
        _direct = Disks.Files.PosixFiles.TryOpenDirect(partialPath, write: true);
        _directWrites = _direct is not null;
        SizeBytes = size;
    }

    public long SizeBytes { get; }

    public string Path { get; }

    /// <summary>
    /// Opens an existing image to write into in place (a file replication's working disk, whose
    /// block-mode partitions arrive as Data frames): publishing only flushes, discarding only closes.
    /// </summary>
    public static ImageFileTarget OpenInPlace(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        return new ImageFileTarget(path, path, handle, RandomAccess.GetLength(handle));
    }

    /// <summary>
    /// Reopens the unfinished image of an interrupted session (<c>NAME.raw.partial</c>) to go on writing
    /// into it; null when it is not there or not of <paramref name="size"/> bytes.
    /// </summary>
    public static ImageFileTarget? OpenPartial(string path, long size)
    {
        var partial = path + ".partial";
        if (!File.Exists(partial))
        {
            return null;
        }
        var handle = File.OpenHandle(partial, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (RandomAccess.GetLength(handle) != size)
        {
            handle.Dispose();
            return null;
        }
        return new ImageFileTarget(path, partial, handle, size);
    }

    /// <summary>Bytes the image occupies on the receiver's disk (it is sparse).</summary>
    public long AllocatedBytes => AllocatedBytesOf(_handle);

    /// <summary>Bytes the image at <paramref name="path"/> occupies on the receiver's disk.</summary>
    public static long AllocatedBytesOf(string path)
    {
        using var handle = File.OpenHandle(path);
        return AllocatedBytesOf(handle);
    }

    private static long AllocatedBytesOf(SafeFileHandle handle) => Disks.Files.PosixFiles.Stat(handle).Blocks * 512;

    /// <summary>Creates an empty sparse image of <paramref name="size"/> bytes (anything unwritten reads as zeros).</summary>
    public static ImageFileTarget Create(string path, long size)
    {
        var partial = path + ".partial";
        var handle = File.OpenHandle(partial, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, preallocationSize: 0);
        try
        {
            File.SetUnixFileMode(handle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            RandomAccess.SetLength(handle, size);
            return new ImageFileTarget(path, partial, handle, size);
        }
        catch
        {
            handle.Dispose();
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>
    /// Writes whole aligned pages (a chunk decoded into an <see cref="Disks.AlignedBuffer"/>) past the page cache: copying
    /// a disk's worth of data into fresh cache pages cost a quarter of both cores here, and left gigabytes for the
    /// checkpoints' and the publishing fsync to write. Anything else goes through the cache; the kernel keeps the two
    /// coherent, writing out cached pages of a range before a direct write replaces them.
    /// </summary>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (_directWrites && Disks.AlignedBuffer.IsAligned(data, offset))
        {
            try
            {
                RandomAccess.Write(_direct!, data, offset);
                return;
            }
            catch (IOException e) when ((e.HResult & 0xFFFF) == 22)
            {
                _directWrites = false;
            }
        }
        RandomAccess.Write(_handle, data, offset);
    }

    public void WriteZeros(long offset, long length)
    {
        if (Posix.TryPunchHole(_handle, offset, length))
        {
            return;
        }
        for (var done = 0L; done < length; done += _zeros.Length)
        {
            RandomAccess.Write(_handle, _zeros.AsSpan(0, (int)Math.Min(_zeros.Length, length - done)), offset + done);
        }
    }

    public void Flush() => Posix.Fsync(_handle, _partialPath);

    public void ReadBack(long offset, Span<byte> buffer) => FileReads.ReadExactly(_handle, buffer, offset, _partialPath);

    /// <summary>Drops the image's cached pages so that <see cref="ReadBack"/> reads the device.</summary>
    public void DropCache() => Posix.DropCache(_handle);

    public void Publish()
    {
        Flush();
        _handle.Dispose();
        _direct?.Dispose();
        if (_partialPath != Path)
        {
            File.Move(_partialPath, Path, overwrite: true);
        }
    }

    /// <summary>Closes the image; an unpublished new image is removed, since it is incomplete.</summary>
    public void Discard()
    {
        _handle.Dispose();
        _direct?.Dispose();
        if (_partialPath != Path)
        {
            File.Delete(_partialPath);
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        _direct?.Dispose();
    }
}
