using System.Runtime.InteropServices;

namespace Ferry.Disks.Interop;

/// <summary><c>struct statvfs</c> as glibc lays it out on x86-64 (all fields 8 bytes but the flags).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StatVfsBuffer
{
    public ulong BlockSize;
    public ulong FragmentSize;
    public ulong Blocks;
    public ulong BlocksFree;
    public ulong BlocksAvailable;
    public ulong Files;
    public ulong FilesFree;
    public ulong FilesAvailable;
    public ulong FilesystemId;
    public ulong Flags;
    public ulong NameMax;
    // glibc reserves six ints after f_namemax.
    public long Spare0;
    public long Spare1;
    public long Spare2;
}
