using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>A directory handle that is closed after use only if it was opened for that use.</summary>
internal readonly struct DirectoryLease(SafeFileHandle handle, bool owned) : IDisposable
{
    public SafeFileHandle Handle { get; } = handle;

    public void Dispose()
    {
        if (owned)
        {
            Handle.Dispose();
        }
    }
}
