namespace Ferry.Disks.Filesystems;

/// <summary>
/// The names mke2fs gives an ext2/3/4 superblock's feature bits (the kernel's ext4.h), so that a new
/// filesystem can be made with exactly the source's features: one made with a newer mke2fs's defaults
/// may carry features the source's own, older kernel cannot mount (metadata_csum_seed, orphan_file, …).
/// State bits (needs_recovery, orphan_present, journal_dev) and features mke2fs cannot set are left out.
/// </summary>
public static class ExtFeatures
{
    private static readonly (uint Bit, string Name)[] Compat =
    [
        (0x4, "has_journal"), (0x8, "ext_attr"), (0x10, "resize_inode"), (0x20, "dir_index"), (0x200, "sparse_super2"),
        (0x400, "fast_commit"), (0x800, "stable_inodes"), (0x1000, "orphan_file"),
    ];

    private static readonly (uint Bit, string Name)[] RoCompat =
    [
        (0x1, "sparse_super"), (0x2, "large_file"), (0x8, "huge_file"), (0x10, "uninit_bg"), (0x20, "dir_nlink"), (0x40, "extra_isize"),
        (0x100, "quota"), (0x200, "bigalloc"), (0x400, "metadata_csum"), (0x2000, "project"), (0x8000, "verity"),
    ];

    private static readonly (uint Bit, string Name)[] Incompat =
    [
        (0x2, "filetype"), (0x10, "meta_bg"), (0x40, "extent"), (0x80, "64bit"), (0x100, "mmp"), (0x200, "flex_bg"), (0x400, "ea_inode"),
        (0x2000, "metadata_csum_seed"), (0x4000, "large_dir"), (0x8000, "inline_data"), (0x10000, "encrypt"), (0x20000, "casefold"),
    ];

    /// <summary>The mke2fs names of the features set in the three feature words.</summary>
    public static IReadOnlyList<string> Names(uint compat, uint roCompat, uint incompat)
    {
        var names = Compat.Where(f => (compat & f.Bit) != 0).Select(f => f.Name)
            .Concat(RoCompat.Where(f => (roCompat & f.Bit) != 0).Select(f => f.Name))
            .Concat(Incompat.Where(f => (incompat & f.Bit) != 0).Select(f => f.Name))
            .ToList();
        if (names.Contains("metadata_csum"))
        {
            // metadata_csum replaces uninit_bg's group checksums; mke2fs refuses both at once.
            names.Remove("uninit_bg");
        }
        return names;
    }
}
