using Microsoft.Win32.SafeHandles;

namespace Ferry.Agent.Files;

/// <summary>A directory on the walk's stack: its descriptor, path, sorted names and how far the walk has got.</summary>
internal sealed class WalkFrame(SafeFileHandle handle, byte[] path, List<byte[]> names)
{
    public SafeFileHandle Handle { get; } = handle;

    public byte[] Path { get; } = path;

    public List<byte[]> Names { get; } = names;

    public int Next { get; set; }
}
