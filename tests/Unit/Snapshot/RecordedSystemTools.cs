using Ferry.Disks.Interop;
using Ferry.Snapshot;

namespace Ferry.Tests.Unit.Snapshot;

/// <summary>
/// A FAKE of the system tools for LVM, which cannot run here (no device-mapper): it answers each
/// command with output recorded from a real system (lvm2 2.03, Debian 12) and remembers the calls,
/// with what the snapshot record held at each.
/// </summary>
internal sealed class RecordedSystemTools(Func<string, ChildResult?> answer, string? recordFile = null) : ISystemTools
{
    public List<(string Command, string RecordAtCall)> Calls { get; } = [];

    public Task<ChildResult> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken ct)
    {
        var command = string.Join(' ', [tool, .. args]);
        Calls.Add((command, recordFile is not null && File.Exists(recordFile) ? File.ReadAllText(recordFile) : ""));
        return Task.FromResult(answer(command) ?? new ChildResult(0, "", ""));
    }
}
