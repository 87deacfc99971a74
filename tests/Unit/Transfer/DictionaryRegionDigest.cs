using Ferry.Transfer.Blocks;

namespace Ferry.Tests.Unit.Transfer;

/// <summary>Test-only: what a receiver holds of each disk, as region hashes in memory (absent means unknown).</summary>
internal sealed class DictionaryRegionDigest : IRegionDigest
{
    private readonly Dictionary<(uint Disk, long Region), UInt128> _hashes = [];

    /// <summary>The hashes of every region of <paramref name="image"/>, as disk <paramref name="disk"/>.</summary>
    public static DictionaryRegionDigest Of(uint disk, byte[] image)
    {
        var digest = new DictionaryRegionDigest();
        for (var region = 0L; region < RegionDigest.Count(image.Length); region++)
        {
            var start = (int)(region * RegionDigest.RegionBytes);
            digest._hashes[(disk, region)] = RegionDigest.Hash(image.AsSpan(start, RegionDigest.LengthOf(region, image.Length)));
        }
        return digest;
    }

    /// <summary>The receiver no longer knows what it holds of <paramref name="region"/>.</summary>
    public void Forget(uint disk, long region) => _hashes.Remove((disk, region));

    public void Read(uint disk, long firstRegion, Span<UInt128> hashes)
    {
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = _hashes.GetValueOrDefault((disk, firstRegion + i), RegionDigest.Unknown);
        }
    }
}
