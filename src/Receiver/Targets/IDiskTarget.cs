namespace Ferry.Receiver.Targets;

/// <summary>
/// Where the receiver writes one source disk: an image file now, a real block device later. All
/// offsets are checked against <see cref="SizeBytes"/> by the caller before they reach a target.
/// </summary>
public interface IDiskTarget : IDisposable
{
    long SizeBytes { get; }

    /// <summary>The path the finished disk will have.</summary>
    string Path { get; }

    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes the range read as zeros.</summary>
    void WriteZeros(long offset, long length);

    /// <summary>Everything written so far is on stable storage.</summary>
    void Flush();

    /// <summary>Reads back what is on stable storage (not a cached copy), for end-to-end verification.</summary>
    void ReadBack(long offset, Span<byte> buffer);

    /// <summary>Flushes, closes and gives the disk its final name.</summary>
    void Publish();
}
