using System.Buffers.Binary;

namespace Ferry.Disks.Files;

/// <summary>What statx(2) says of one file, without following a symbolic link.</summary>
public readonly record struct FileStatus(
    uint Mode,
    uint Uid,
    uint Gid,
    uint LinkCount,
    ulong Inode,
    long Size,
    long Blocks,
    FileTime Access,
    FileTime Modify,
    FileTime Change,
    uint DeviceMajor,
    uint DeviceMinor,
    uint RdevMajor,
    uint RdevMinor)
{
    public const uint TypeMask = 0xF000;
    public const uint Fifo = 0x1000;
    public const uint CharDevice = 0x2000;
    public const uint Directory = 0x4000;
    public const uint BlockDevice = 0x6000;
    public const uint Regular = 0x8000;
    public const uint Symlink = 0xA000;
    public const uint Socket = 0xC000;

    public uint Type => Mode & TypeMask;

    /// <summary>Permission bits with setuid, setgid and sticky.</summary>
    public uint Permissions => Mode & 0xFFF;

    public bool IsDirectory => Type == Directory;

    public bool IsRegular => Type == Regular;

    public bool IsSymlink => Type == Symlink;

    /// <summary>The filesystem the file lives on, as one number (for "same filesystem" checks).</summary>
    public ulong Device => ((ulong)DeviceMajor << 32) | DeviceMinor;

    internal static FileStatus Parse(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(b[28..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
        BinaryPrimitives.ReadInt64LittleEndian(b[40..]),
        BinaryPrimitives.ReadInt64LittleEndian(b[48..]),
        Time(b[64..]),
        Time(b[112..]),
        Time(b[96..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[136..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[140..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[128..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[132..]));

    private static FileTime Time(ReadOnlySpan<byte> b) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(b), BinaryPrimitives.ReadUInt32LittleEndian(b[8..]));
}
