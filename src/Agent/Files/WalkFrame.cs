using Microsoft.Win32.SafeHandles;

namespace Ferry.Agent.Files;

/// <summary>A directory on the walk's stack: its descriptor, path, sorted names with their statuses, and how far the walk has got.</summary>
internal sealed class WalkFrame(SafeFileHandle handle, byte[] path, ScannedDirectory scan)
{
    public SafeFileHandle Handle { get; } = handle;

    public byte[] Path { get; } = path;

    public ScannedDirectory Scan { get; } = scan;

    public int Next { get; set; }
}
