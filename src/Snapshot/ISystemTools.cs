using Ferry.Disks.Interop;

namespace Ferry.Snapshot;

/// <summary>Runs the system tools a snapshot provider drives (lvs, lvcreate, lvremove, mount, umount). Tests replay recorded output through it.</summary>
public interface ISystemTools
{
    Task<ChildResult> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken ct);
}
