using Ferry.Disks.Interop;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Snapshot;

/// <summary>
/// Filesystems frozen together (FIFREEZE) for the last pass of a convergent copy: writers block, the
/// filesystem writes everything it holds to its device, and what the device says stays as it is until
/// they are thawed (FITHAW). The mount points are opened up front, so that freezing and thawing need
/// no path lookup (which could touch a frozen filesystem).
/// </summary>
public sealed class FrozenFilesystems : IDisposable
{
    private const int Einval = 22;

    private readonly List<(string MountPoint, SafeFileHandle Handle)> _mounts;
    private readonly List<(string MountPoint, SafeFileHandle Handle)> _frozen = [];

    private FrozenFilesystems(List<(string, SafeFileHandle)> mounts) => _mounts = mounts;

    public IReadOnlyList<string> MountPoints => _mounts.Select(m => m.MountPoint).ToList();

    public bool IsFrozen => _frozen.Count > 0;

    public static FrozenFilesystems Open(IEnumerable<string> mountPoints)
    {
        var mounts = new List<(string, SafeFileHandle)>();
        try
        {
            foreach (var m in mountPoints.Distinct())
            {
                mounts.Add((m, Disks.Files.PosixFiles.OpenDirectory(m)));
            }
            return new FrozenFilesystems(mounts);
        }
        catch
        {
            foreach (var (_, handle) in mounts)
            {
                handle.Dispose();
            }
            throw;
        }
    }

    /// <summary>Freezes every filesystem; if one refuses, those already frozen are thawed and the refusal is thrown.</summary>
    public void Freeze()
    {
        foreach (var (mountPoint, handle) in _mounts)
        {
            var errno = Posix.Freeze(handle);
            if (errno != 0)
            {
                Thaw();
                throw new SnapshotException($"the filesystem at {mountPoint} cannot be frozen: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}",
                    "Its filesystem may not support freezing, or another tool (fsfreeze, a backup agent) holds it frozen; copy it live with --no-freeze, " +
                    "or unmount it or remount it read-only for the copy.");
            }
            _frozen.Add((mountPoint, handle));
        }
    }

    /// <summary>Thaws what this instance froze, in reverse order; never throws (a thaw must not be skipped).</summary>
    public void Thaw()
    {
        for (var i = _frozen.Count - 1; i >= 0; i--)
        {
            _ = Posix.Thaw(_frozen[i].Handle);
        }
        _frozen.Clear();
    }

    /// <summary>The watchdog's thaw: FITHAW on every mount point whoever froze it; returns those that were frozen.</summary>
    public List<string> ThawAll() =>
        [.. _mounts.Where(m => Posix.Thaw(m.Handle) is not Einval).Select(m => m.MountPoint)];

    public void Dispose()
    {
        Thaw();
        foreach (var (_, handle) in _mounts)
        {
            handle.Dispose();
        }
    }
}
