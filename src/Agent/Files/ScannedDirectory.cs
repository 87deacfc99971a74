using Ferry.Disks.Files;

namespace Ferry.Agent.Files;

/// <summary>
/// One directory as read for the walk: its names, sorted as the walk takes them, each with its status (null when the
/// name went between the listing and its stat), and the directory's own identity, so that a directory read ahead is used
/// only for the directory the walk opened.
/// </summary>
internal sealed record ScannedDirectory(ulong Device, ulong Inode, List<byte[]> Names, FileStatus?[] Statuses)
{
    /// <summary>Lists and stats the directory open at <paramref name="dir"/>; <paramref name="self"/> is its own status, when the caller has it.</summary>
    public static ScannedDirectory Read(Microsoft.Win32.SafeHandles.SafeFileHandle dir, FileStatus? self = null)
    {
        var own = self ?? PosixFiles.Stat(dir);
        var names = PosixFiles.ReadDirectory(dir);
        names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        var statuses = new FileStatus?[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            statuses[i] = PosixFiles.TryStatAt(dir, names[i], out var status) ? status : null;
        }
        return new ScannedDirectory(own.Device, own.Inode, names, statuses);
    }

    public bool Is(FileStatus directory) => directory.Device == Device && directory.Inode == Inode;
}
