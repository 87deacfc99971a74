namespace Ferry.Disks.Filesystems;

/// <summary>What a filesystem's superblock says about it; names follow blkid (TYPE, UUID, LABEL).</summary>
/// <param name="Type">blkid's TYPE: ext2, ext3, ext4, xfs, btrfs, vfat, swap, LVM2_member.</param>
/// <param name="SizeBytes">The filesystem's own size, which may be smaller than its partition.</param>
/// <param name="UsedBytes">Used space from the superblock's free counts, when it keeps them.</param>
public sealed record FilesystemInfo(
    string Type,
    string? Uuid,
    string? Label,
    long SizeBytes,
    int BlockSize,
    long? UsedBytes)
{
    /// <summary>
    /// Features a new filesystem must have to match this one: ext2/3/4, the names mke2fs knows (see
    /// <see cref="ExtFeatures"/>); XFS, mkfs.xfs settings such as "reflink=0"; empty otherwise.
    /// </summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>ext2/3/4: bytes per inode record; 0 otherwise.</summary>
    public int InodeSize { get; init; }

    /// <summary>A filesystem whose allocation map Ferry reads, so only used blocks are sent.</summary>
    public bool HasAllocationMap => Type is "ext2" or "ext3" or "ext4" or "xfs";
}
