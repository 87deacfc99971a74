using System.Buffers.Binary;
using Ferry.Transfer.Blocks;
using Ferry.Transfer.Protocol;

namespace Ferry.Agent.Migration;

/// <summary>
/// The receiver's digest of an incremental job's working images, read page by page (65,536 regions,
/// 256 MiB of disk, 1 MiB of hashes) as the reader moves through each disk, so that memory does not
/// grow with the disk. Each pass of a cycle reads it afresh: the receiver updates it as it writes.
/// </summary>
internal sealed class ReceiverDigest(ReceiverClient receiver, CancellationToken ct) : IRegionDigest
{
    private const int PageRegions = 65536;
    private readonly Dictionary<uint, (long First, byte[] Hashes)> _pages = [];
    private Google.Protobuf.ByteString _session = Google.Protobuf.ByteString.Empty;

    /// <summary>Reads the digest of <paramref name="session"/> from now on, afresh (a new pass, or a new session after a lost connection).</summary>
    public void Begin(Google.Protobuf.ByteString session)
    {
        _session = session;
        _pages.Clear();
    }

    public void Read(uint disk, long firstRegion, Span<UInt128> hashes)
    {
        for (var i = 0; i < hashes.Length; i++)
        {
            var region = firstRegion + i;
            if (!_pages.TryGetValue(disk, out var page) || region < page.First || region >= page.First + (page.Hashes.Length / RegionDigest.HashBytes))
            {
                page = (region, Fetch(disk, region));
                _pages[disk] = page;
            }
            var at = (int)(region - page.First) * RegionDigest.HashBytes;
            hashes[i] = at + RegionDigest.HashBytes <= page.Hashes.Length
                ? BinaryPrimitives.ReadUInt128LittleEndian(page.Hashes.AsSpan(at))
                : RegionDigest.Unknown;
        }
    }

    // The reader stage is a thread of its own (it reads the disk synchronously), so waiting here blocks nothing else.
    private byte[] Fetch(uint disk, long first) =>
        receiver.ReadDigestAsync(new DigestRequest { SessionId = _session, Disk = disk, FirstRegion = (ulong)first, Count = PageRegions }, ct)
            .GetAwaiter().GetResult().Hashes.ToByteArray();
}
