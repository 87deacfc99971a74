namespace Ferry.Transfer.Blocks;

/// <summary>
/// Counters of a running transfer, updated by the pipeline and read by whoever reports progress.
/// "Done" counts source bytes (before compression); "wire" counts bytes sent, headers included.
/// </summary>
public sealed class TransferProgress
{
    private long _doneBytes;
    private long _wireBytes;
    private long _totalBytes;
    private long _resentFrames;
    private long _repeatedBytes;
    private long _unchangedBytes;

    public long DoneBytes => Interlocked.Read(ref _doneBytes);

    public long WireBytes => Interlocked.Read(ref _wireBytes);

    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    public long ResentFrames => Interlocked.Read(ref _resentFrames);

    /// <summary>The disk being sent, for display.</summary>
    public string CurrentDisk { get; set; } = string.Empty;

    public string Phase { get; set; } = "preparing";

    public void SetTotal(long bytes) => Interlocked.Exchange(ref _totalBytes, bytes);

    public void AddSent(long sourceBytes, long wireBytes)
    {
        Interlocked.Add(ref _doneBytes, sourceBytes);
        Interlocked.Add(ref _wireBytes, wireBytes);
    }

    /// <summary>Source bytes the receiver already held (a later pass, an incremental cycle): done without being sent.</summary>
    public void AddUnchanged(long sourceBytes)
    {
        Interlocked.Add(ref _doneBytes, sourceBytes);
        Interlocked.Add(ref _unchangedBytes, sourceBytes);
    }

    /// <summary>Of <see cref="DoneBytes"/>, those not sent because the receiver held them already.</summary>
    public long UnchangedBytes => Interlocked.Read(ref _unchangedBytes);

    public void AddResent() => Interlocked.Increment(ref _resentFrames);

    /// <summary>A new pass over the disks (a convergent copy): done starts again from zero.</summary>
    public void StartPass(long totalBytes)
    {
        Interlocked.Exchange(ref _doneBytes, 0);
        Interlocked.Exchange(ref _unchangedBytes, 0);
        Interlocked.Exchange(ref _totalBytes, totalBytes);
    }

    /// <summary>Source bytes sent but lost to an interruption and sent again (what was in flight at each resume).</summary>
    public long RepeatedBytes => Interlocked.Read(ref _repeatedBytes);

    /// <summary>After an interruption: only <paramref name="durableBytes"/> are done; whatever was counted beyond them is sent again.</summary>
    public void RewindTo(long durableBytes)
    {
        var lost = Interlocked.Exchange(ref _doneBytes, durableBytes) - durableBytes;
        if (lost > 0)
        {
            Interlocked.Add(ref _repeatedBytes, lost);
        }
    }
}
