namespace Ferry.Transfer.Blocks;

/// <summary>What the receiver holds of each disk, one <see cref="RegionDigest"/> hash per region.</summary>
public interface IRegionDigest
{
    /// <summary>
    /// Fills <paramref name="hashes"/> with the hashes of regions <paramref name="firstRegion"/> onwards
    /// of disk <paramref name="disk"/>; <see cref="RegionDigest.Unknown"/> where nothing known is held.
    /// Called by one reader, in ascending order per disk.
    /// </summary>
    void Read(uint disk, long firstRegion, Span<UInt128> hashes);
}
