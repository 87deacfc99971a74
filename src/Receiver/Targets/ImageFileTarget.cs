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
    private readonly string _partialPath;
    private readonly byte[] _zeros = new byte[64 * 1024];

    private ImageFileTarget(string path, string partialPath, SafeFileHandle handle, long size)
    {
        Path = path;
        _partialPath = partialPath;
        _handle = handle;
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

    public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(_handle, data, offset);

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
        if (_partialPath != Path)
        {
            File.Move(_partialPath, Path, overwrite: true);
        }
    }

    /// <summary>Closes the image; an unpublished new image is removed, since it is incomplete.</summary>
    public void Discard()
    {
        _handle.Dispose();
        if (_partialPath != Path)
        {
            File.Delete(_partialPath);
        }
    }

    public void Dispose() => _handle.Dispose();
}
