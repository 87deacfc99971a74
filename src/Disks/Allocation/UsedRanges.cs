using Ferry.Disks.Filesystems;

namespace Ferry.Disks.Allocation;

/// <summary>Chooses how much of a filesystem must be copied: its allocation map when Ferry reads one.</summary>
public static class UsedRanges
{
    /// <summary>
    /// The ranges of <paramref name="region"/> to send, relative to its start, or null when the whole
    /// region must be read (content that is all zero is then skipped by the block reader).
    /// </summary>
    public static List<ByteRange>? Read(IByteReader region, FilesystemInfo? fs) => fs?.Type switch
    {
        "ext2" or "ext3" or "ext4" => ExtAllocationMap.ReadUsed(region),
        "xfs" => XfsAllocationMap.ReadUsed(region),
        // A swap area's content is scratch; its first page (header, UUID, label) is all a copy needs.
        "swap" => [new ByteRange(0, Math.Min(region.Length, fs.BlockSize))],
        _ => null,
    };
}
