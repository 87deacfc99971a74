using Ferry.Transfer.Errors;

namespace Ferry.Receiver.Targets;

/// <summary>
/// A target disk that accepts block data only inside its block-mode partitions: in a mixed layout the
/// partition table and the file-mode filesystems are the receiver's own, and no frame may touch them.
/// </summary>
public sealed class PartitionWindowTarget(IDiskTarget inner, IReadOnlyList<(long Start, long Length)> windows) : IDiskTarget
{
    public long SizeBytes => inner.SizeBytes;

    public string Path => inner.Path;

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        Check(offset, data.Length);
        inner.Write(offset, data);
    }

    public void WriteZeros(long offset, long length)
    {
        Check(offset, length);
        inner.WriteZeros(offset, length);
    }

    public void Flush() => inner.Flush();

    public void ReadBack(long offset, Span<byte> buffer) => inner.ReadBack(offset, buffer);

    public void Publish() => inner.Publish();

    public void Dispose() => inner.Dispose();

    private void Check(long offset, long length)
    {
        if (!windows.Any(w => offset >= w.Start && length <= w.Start + w.Length - offset))
        {
            throw new ProtocolException($"block data at {offset} (+{length}) lies outside every block-mode partition of {Path}");
        }
    }
}
