namespace Ferry.Transfer.Delta;

/// <summary>Where the receiver rebuilds a file from delta instructions.</summary>
public interface IDeltaTarget
{
    /// <summary>Appends blocks of the old copy (already checked to exist).</summary>
    void CopyBlocks(int block, int count);

    /// <summary>Appends new bytes.</summary>
    void Write(ReadOnlySpan<byte> data);
}
