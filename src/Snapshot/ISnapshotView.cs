namespace Ferry.Snapshot;

/// <summary>
/// A point-in-time view of a mounted filesystem, readable as a directory tree: file replication
/// reads <see cref="ViewPath"/> in place of <see cref="SourcePath"/>, then deletes the view.
/// Providers: <see cref="BtrfsSnapshot"/> and <see cref="LvmSnapshot"/>.
/// </summary>
public interface ISnapshotView
{
    /// <summary>Where the filesystem is mounted on this machine.</summary>
    string SourcePath { get; }

    /// <summary>Where its tree, as it was when the view was taken, can be read.</summary>
    string ViewPath { get; }

    Task DeleteAsync(CancellationToken ct);
}
