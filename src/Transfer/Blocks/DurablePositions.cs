namespace Ferry.Transfer.Blocks;

/// <summary>
/// How far each disk is durable on the receiver: every planned byte below a disk's position has been
/// written and flushed there (its Flush was acknowledged). Chunks are registered as they are read, in
/// increasing offset per disk, and marked durable when a FlushAck covers them; encoders and several
/// connections complete them out of order, so a disk's position is the start of its oldest chunk not
/// yet durable. A resumed transfer starts each disk at its position and repeats at most what was in
/// flight.
/// </summary>
public sealed class DurablePositions
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, DiskMarks> _disks = [];

    /// <param name="start">Per disk, where the transfer starts (0, or the position of an interrupted run).</param>
    public DurablePositions(IReadOnlyDictionary<uint, long> start)
    {
        foreach (var (disk, position) in start)
        {
            _disks[disk] = new DiskMarks(position);
        }
    }

    /// <summary>Bumped whenever a position moves, so that a saver can tell whether there is anything new.</summary>
    public long Version { get; private set; }

    /// <summary>A chunk enters the pipeline; until it is durable, its disk's position stays at or below its offset.</summary>
    public void Reading(uint disk, long offset, long end)
    {
        lock (_lock)
        {
            var marks = _disks[disk];
            marks.Outstanding.Add(offset);
            marks.ReadEnd = Math.Max(marks.ReadEnd, end);
        }
    }

    /// <summary>The receiver acknowledged the chunk at <paramref name="offset"/> as flushed.</summary>
    public void Durable(uint disk, long offset)
    {
        lock (_lock)
        {
            if (_disks.TryGetValue(disk, out var marks) && marks.Outstanding.Remove(offset))
            {
                Version++;
            }
        }
    }


    /// <summary>Each disk's position: all planned bytes below it are durable on the receiver.</summary>
    public Dictionary<uint, long> Positions()
    {
        lock (_lock)
        {
            return _disks.ToDictionary(kv => kv.Key, kv => kv.Value.Position);
        }
    }

    private sealed class DiskMarks(long start)
    {
        public SortedSet<long> Outstanding { get; } = [];

        public long ReadEnd { get; set; } = start;

        public long Position => Outstanding.Count > 0 ? Outstanding.Min : ReadEnd;
    }
}
