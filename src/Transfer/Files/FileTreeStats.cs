namespace Ferry.Transfer.Files;

/// <summary>What sending the file trees took, for the summary and the tests.</summary>
public sealed class FileTreeStats
{
    private long _entries;
    private long _whole;
    private long _delta;
    private long _unchanged;
    private long _dataWireBytes;
    private long _literalBytes;
    private long _resent;
    private long _vanished;
    private long _changed;

    public long Entries => Interlocked.Read(ref _entries);

    /// <summary>Regular files sent whole.</summary>
    public long WholeFiles => Interlocked.Read(ref _whole);

    /// <summary>Regular files sent as a delta against the receiver's copy.</summary>
    public long DeltaFiles => Interlocked.Read(ref _delta);

    public long UnchangedFiles => Interlocked.Read(ref _unchanged);

    /// <summary>Bytes on the wire for file content: FileData and Delta frames, headers included.</summary>
    public long DataWireBytes => Interlocked.Read(ref _dataWireBytes);

    /// <summary>New bytes inside deltas (before compression).</summary>
    public long LiteralBytes => Interlocked.Read(ref _literalBytes);

    public long ResentFiles => Interlocked.Read(ref _resent);

    public long VanishedFiles => Interlocked.Read(ref _vanished);

    public long ChangedWhileRead => Interlocked.Read(ref _changed);

    internal void AddEntry() => Interlocked.Increment(ref _entries);

    internal void AddWhole() => Interlocked.Increment(ref _whole);

    internal void AddDelta(long literal)
    {
        Interlocked.Increment(ref _delta);
        Interlocked.Add(ref _literalBytes, literal);
    }

    internal void AddUnchanged() => Interlocked.Increment(ref _unchanged);

    internal void AddDataWire(long bytes) => Interlocked.Add(ref _dataWireBytes, bytes);

    internal void AddResent() => Interlocked.Increment(ref _resent);

    internal void AddVanished() => Interlocked.Increment(ref _vanished);

    internal void AddChanged() => Interlocked.Increment(ref _changed);
}
