using System.Text;
using Ferry.Disks.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// The mounted root of a target system, as the boot fix-up reads and edits it. Its files are the
/// source's, so a hostile or just unusual source must not make the receiver touch its own files:
/// every path resolves beneath the root as if it were "/" (absolute symlinks and ".." included),
/// and only regular files are read or written, never a device node, FIFO or socket.
/// </summary>
public sealed class TargetRoot : IDisposable
{
    /// <summary>Configuration files are small; a larger one is not what it claims to be.</summary>
    private const long MaxConfigBytes = 4 << 20;

    private readonly SafeFileHandle _root;

    public TargetRoot(string mountPath)
    {
        MountPath = mountPath;
        _root = PosixFiles.OpenDirectory(mountPath);
    }

    /// <summary>Where the root is mounted on the receiver.</summary>
    public string MountPath { get; }

    /// <summary>The text of a regular file, or null when there is none at <paramref name="path"/>.</summary>
    public string? ReadText(string path)
    {
        using var file = TryOpen(path, OpenFlags.ReadOnly);
        if (file is null)
        {
            return null;
        }
        var length = RandomAccess.GetLength(file);
        if (length > MaxConfigBytes)
        {
            throw new IOException($"{path} on the target is {length} bytes, too large for a configuration file");
        }
        var bytes = new byte[length];
        var read = 0;
        while (read < bytes.Length && RandomAccess.Read(file, bytes.AsSpan(read), read) is var n and > 0)
        {
            read += n;
        }
        return Encoding.UTF8.GetString(bytes, 0, read);
    }

    public bool IsFile(string path)
    {
        using var file = TryOpen(path, OpenFlags.ReadOnly);
        return file is not null;
    }

    /// <summary>Replaces the content of the regular file at <paramref name="path"/>, creating it (0644) if <paramref name="create"/>.</summary>
    public void WriteText(string path, string text, bool create = false)
    {
        using var file = TryOpen(path, OpenFlags.WriteOnly | (create ? OpenFlags.Create : 0))
            ?? throw new IOException($"{path} does not exist on the target");
        var bytes = Encoding.UTF8.GetBytes(text);
        RandomAccess.SetLength(file, 0);
        RandomAccess.Write(file, bytes, 0);
        RandomAccess.FlushToDisk(file);
    }

    /// <summary>The names in a directory (empty when there is no such directory).</summary>
    public IReadOnlyList<string> List(string directory)
    {
        using var dir = TryOpenDirectory(directory);
        return dir is null ? [] : PosixFiles.ReadDirectory(dir).Select(n => Encoding.UTF8.GetString(n)).ToList();
    }

    /// <summary>Whether <paramref name="bootDirectory"/> holds a kernel (vmlinuz-*): the tree is a system meant to boot.</summary>
    public bool HasKernel(string bootDirectory) => List(bootDirectory).Any(n => n.StartsWith("vmlinuz", StringComparison.Ordinal));

    /// <summary>Removes a file; false when it was not there.</summary>
    public bool Delete(string path)
    {
        using var dir = TryOpenDirectory(Path.GetDirectoryName(path) ?? "/");
        return dir is not null && PosixFiles.UnlinkAt(dir, Encoding.UTF8.GetBytes(Path.GetFileName(path)), directory: false);
    }

    public void Dispose() => _root.Dispose();

    private SafeFileHandle? TryOpenDirectory(string path)
    {
        try
        {
            return PosixFiles.OpenInRoot(_root, path, OpenFlags.ReadOnly | OpenFlags.Directory);
        }
        catch (PosixException e) when (e.Errno is PosixException.NoEntry or PosixException.NotDirectory)
        {
            return null;
        }
    }

    private SafeFileHandle? TryOpen(string path, int flags)
    {
        SafeFileHandle file;
        try
        {
            // Non-blocking, so that a FIFO put where a configuration file should be cannot hang the receiver.
            file = PosixFiles.OpenInRoot(_root, path, flags | OpenFlags.NonBlock, (flags & OpenFlags.Create) != 0 ? 0x1a4u : 0);
        }
        catch (PosixException e) when (e.Errno is PosixException.NoEntry or PosixException.NotDirectory)
        {
            return null;
        }
        if (!PosixFiles.Stat(file).IsRegular)
        {
            file.Dispose();
            throw new IOException($"{path} on the target is not a regular file");
        }
        return file;
    }
}
