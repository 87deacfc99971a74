namespace Ferry.Tests.Integration;

/// <summary>A size-limited tmpfs mounted for a test (a receiver output that is too small); unmounted at the end.</summary>
internal sealed class Tmpfs : IDisposable
{
    public Tmpfs(string path, string size)
    {
        Path = path;
        Directory.CreateDirectory(path);
        Sh.Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path).Check("mount tmpfs");
    }

    public string Path { get; }

    /// <summary>Grows (or shrinks) it in place, as freeing space on the receiver would.</summary>
    public void Resize(string size) => Sh.Run("mount", "-o", "remount,size=" + size, Path).Check("remount tmpfs");

    public void Dispose() => Sh.Run("umount", Path);
}
