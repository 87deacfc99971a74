using Ferry.Receiver.Files;

namespace Ferry.Receiver.Layout;

/// <summary>
/// One target filesystem of a file replication, mounted on the receiver, its applier while a tree is
/// arriving, and the index of what it holds (kept across the connections of a session).
/// </summary>
public sealed class TreeTarget(uint tree, string mountPath, string filesystem, TreeIndex index) : IDisposable
{
    private readonly Lock _lock = new();
    private TreeApplier? _applier;

    public uint Tree { get; } = tree;

    public string MountPath { get; } = mountPath;

    public string Filesystem { get; } = filesystem;

    internal TreeIndex Index { get; } = index;

    /// <summary>Whether the tree was completed in this session.</summary>
    public bool Complete { get; private set; }

    /// <summary>The applier for a new data connection; one connection may apply a tree at a time.</summary>
    internal TreeApplier Begin(Microsoft.Extensions.Logging.ILogger log)
    {
        lock (_lock)
        {
            if (_applier is not null)
            {
                throw new Transfer.Errors.ProtocolException($"tree {Tree} is already being applied by another connection");
            }
            Complete = false;
            return _applier = new TreeApplier(MountPath, Filesystem != "vfat", log, Index);
        }
    }

    /// <summary>The connection is done with the tree (completed or not).</summary>
    internal void Release(bool complete)
    {
        lock (_lock)
        {
            _applier?.Dispose();
            _applier = null;
            Complete = complete;
        }
    }

    public void Dispose() => Release(Complete);
}
