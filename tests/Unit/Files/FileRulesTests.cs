using Ferry.Transfer;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Files;
using Ferry.Transfer.Protocol;
using Xunit;

namespace Ferry.Tests.Unit.Files;

public sealed class FileRulesTests
{
    [Theory]
    [InlineData("", true)]
    [InlineData("etc/passwd", true)]
    [InlineData("a/b c/ünï", true)]
    [InlineData("..hidden/x..y", true)]
    [InlineData("/etc/passwd", false)]
    [InlineData("../x", false)]
    [InlineData("a/../../x", false)]
    [InlineData("a/./b", false)]
    [InlineData("a//b", false)]
    [InlineData("a/", false)]
    [InlineData(".", false)]
    [InlineData("a\0b", false)]
    public void EntryPath_IsValid(string path, bool valid) =>
        Assert.Equal(valid, EntryPath.IsValid(System.Text.Encoding.UTF8.GetBytes(path)));

    [Fact]
    public void EntryPath_CompareTreeOrder_IsTheOrderOfADepthFirstWalkWithSortedNames()
    {
        // Names chosen so that a plain byte order of whole paths differs: '-' and '.' sort before '/', '0' after it.
        string[] paths = ["a", "a/z", "a/z/1", "a/y", "a-b", "a-b/c", "a.c", "a0", "b", "b/a-b", "b/a", "b/a/x"];
        var tree = paths.ToLookup(p => p.Contains('/') ? p[..p.LastIndexOf('/')] : "", p => p);
        IEnumerable<string> Walk(string dir) => tree[dir].OrderBy(p => p[(p.LastIndexOf('/') + 1)..], StringComparer.Ordinal)
            .SelectMany(p => Walk(p).Prepend(p));

        var sorted = paths.Order(Comparer<string>.Create((x, y) => EntryPath.CompareTreeOrder(System.Text.Encoding.UTF8.GetBytes(x), System.Text.Encoding.UTF8.GetBytes(y))));

        Assert.Equal(Walk(""), sorted);
        Assert.NotEqual(Walk(""), paths.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EntryPath_Check_NamesTheCode()
    {
        var e = Assert.Throws<FerryException>(() => EntryPath.Check("../../etc/shadow"u8, "entry path"));
        Assert.Equal(ErrorCode.PathUnsafe, e.Code);
        Assert.Equal("E_PATH_UNSAFE", ErrorCodes.Name(e.Code));
    }

    [Theory]
    [InlineData("/dev/sda", false, true)]
    [InlineData("/dev", true, false)]
    [InlineData("/proc/1", true, true)]
    [InlineData("/lost+found/x", false, true)]
    [InlineData("/data/lost+found/#123", false, true)]
    [InlineData("/lost+found", true, false)]
    [InlineData("/mnt/usb", true, true)]
    [InlineData("/var/mnt/x", false, false)]
    [InlineData("/var/lib/lxcfs/proc", true, true)]
    [InlineData("/etc/passwd", false, false)]
    public void ExcludeList_Defaults(string path, bool directory, bool excluded) =>
        Assert.Equal(excluded, new ExcludeList(ExcludeList.Defaults).IsExcluded(path, directory));

    [Fact]
    public void ExcludeList_Syntax_CommentsGlobsDoubleStarAndDirectoryOnly()
    {
        var list = new ExcludeList(["# comment", "", "*.tmp", "/var/cache/**", "build/", "/home/?/x"]);
        Assert.Equal(4, list.Count);
        Assert.True(list.IsExcluded("/a/b/c.tmp", false));
        Assert.False(list.IsExcluded("/a/b/c.tmpx", false));
        Assert.True(list.IsExcluded("/var/cache/apt/archives/x.deb", false));
        Assert.False(list.IsExcluded("/var/cache", true));
        Assert.True(list.IsExcluded("/src/build", true));
        Assert.False(list.IsExcluded("/src/build", false));
        Assert.True(list.IsExcluded("/home/a/x", false));
        Assert.False(list.IsExcluded("/home/ab/x", false));
    }

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("64K", 65536L)]
    [InlineData("3MiB", 3L << 20)]
    [InlineData("8gib", 8L << 30)]
    [InlineData(" 1T ", 1L << 40)]
    [InlineData("1.5G", null)]
    [InlineData("G", null)]
    [InlineData("12 parsecs", null)]
    public void ByteSize_Parse(string text, long? bytes) => Assert.Equal(bytes, ByteSize.Parse(text));

    [Fact]
    public void LayoutRules_GptBios_AddsBiosBootPartitionFirstAndGivesTheRestToTheLastPartition()
    {
        var disk = Disk("gpt", 4L << 30, Part("/", 1L << 30, "ext4", 0, 0), Part("/data", 0, "xfs", 0, 1));
        var plan = LayoutRules.Plan(disk, "bios");
        Assert.Equal(3, plan.Count);
        Assert.True(plan[0].IsBiosBoot);
        Assert.Equal((1L << 20, 1L << 20), (plan[0].StartBytes, plan[0].SizeBytes));
        Assert.Equal((2L << 20, 1L << 30), (plan[1].StartBytes, plan[1].SizeBytes));
        // The last MiB holds GPT's backup table.
        Assert.Equal((4L << 30) - (1L << 20), plan[2].StartBytes + plan[2].SizeBytes);
        Assert.DoesNotContain(LayoutRules.Plan(disk, "uefi"), p => p.IsBiosBoot);
    }

    [Fact]
    public void LayoutRules_PartitionSmallerThanUsedSpace_NamesPartitionAndMinimum()
    {
        var layout = new TargetLayout { BootMode = "bios" };
        layout.Disks.Add(Disk("gpt", 4L << 30, Part("/", 256L << 20, "ext4", 300L << 20, 0)));
        var e = Assert.Throws<FerryException>(() => LayoutRules.Validate(layout));
        Assert.Equal(ErrorCode.PartitionTooSmall, e.Code);
        Assert.Contains("disk vda partition 1 (/)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"at least {LayoutRules.MinimumBytes("ext4", 300L << 20) >> 20} MiB", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("btrfs", "/", "filesystem 'btrfs'")]
    [InlineData("ext4", "data", "mount point 'data'")]
    [InlineData("ext4", "/a/../b", "mount point")]
    public void LayoutRules_BadPartition_IsLayoutInvalid(string fs, string mount, string expected)
    {
        var layout = new TargetLayout { BootMode = "uefi" };
        layout.Disks.Add(Disk("gpt", 4L << 30, Part(mount, 1L << 30, fs, 0, 0)));
        var e = Assert.Throws<FerryException>(() => LayoutRules.Validate(layout));
        Assert.Equal(ErrorCode.LayoutInvalid, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LayoutRules_PartitionsLargerThanDisk_AreRefused()
    {
        var layout = new TargetLayout { BootMode = "uefi" };
        layout.Disks.Add(Disk("mbr", 1L << 30, Part("/", 800L << 20, "ext4", 0, 0), Part("/data", 300L << 20, "ext4", 0, 1)));
        var e = Assert.Throws<FerryException>(() => LayoutRules.Validate(layout));
        Assert.Contains("does not fit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LayoutRules_SameMountPointTwice_IsRefused()
    {
        var layout = new TargetLayout { BootMode = "bios" };
        layout.Disks.Add(Disk("gpt", 4L << 30, Part("/", 1L << 30, "ext4", 0, 0), Part("/", 1L << 30, "ext4", 0, 1)));
        Assert.Equal(ErrorCode.LayoutInvalid, Assert.Throws<FerryException>(() => LayoutRules.Validate(layout)).Code);
    }

    [Fact]
    public void LayoutRules_BlockPartition_NeedsItsSizeAndMountPointButNoKnownFilesystem()
    {
        var layout = new TargetLayout { BootMode = "uefi" };
        var block = Part("/srv", 500L << 20, "btrfs", 400L << 20, 0);
        block.Mode = "block";
        layout.Disks.Add(Disk("gpt", 4L << 30, Part("/", 1L << 30, "ext4", 0, 0), block));
        LayoutRules.Validate(layout);

        block.SizeBytes = 0;
        Assert.Equal(ErrorCode.LayoutInvalid, Assert.Throws<FerryException>(() => LayoutRules.Validate(layout)).Code);
        block.SizeBytes = 500L << 20;
        block.Mode = "blocks";
        Assert.Equal(ErrorCode.LayoutInvalid, Assert.Throws<FerryException>(() => LayoutRules.Validate(layout)).Code);
    }

    [Theory]
    [InlineData("/dev/sda2", true)]
    [InlineData("/dev/nvme0n1p2", true)]
    [InlineData("", true)]
    [InlineData("sda2", false)]
    [InlineData("/dev/sda2 /dev/sdb1", false)]
    [InlineData("/dev/sda2\n", false)]
    public void LayoutRules_SourceDevice_IsADevPathOrNothing(string device, bool valid)
    {
        var layout = new TargetLayout { BootMode = "bios" };
        var root = Part("/", 1L << 30, "ext4", 0, 0);
        root.SourceDevice = device;
        layout.Disks.Add(Disk("gpt", 4L << 30, root));
        if (valid)
        {
            LayoutRules.Validate(layout);
        }
        else
        {
            Assert.Equal(ErrorCode.LayoutInvalid, Assert.Throws<FerryException>(() => LayoutRules.Validate(layout)).Code);
        }
    }

    private static LayoutDisk Disk(string table, long size, params LayoutPartition[] partitions)
    {
        var disk = new LayoutDisk { Index = 0, Name = "vda", SizeBytes = (ulong)size, PartitionTable = table };
        disk.Partitions.AddRange(partitions);
        return disk;
    }

    private static LayoutPartition Part(string mount, long size, string fs, long used, uint tree) =>
        new() { MountPoint = mount, SizeBytes = (ulong)size, Filesystem = fs, UsedBytes = (ulong)used, Tree = tree };
}
