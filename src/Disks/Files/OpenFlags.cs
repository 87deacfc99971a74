namespace Ferry.Disks.Files;

/// <summary>The open(2) flags callers of <see cref="PosixFiles.OpenInRoot"/> may pass (x86-64 values).</summary>
public static class OpenFlags
{
    public const int ReadOnly = 0;
    public const int WriteOnly = 1;
    public const int Create = 0x40;
    public const int NonBlock = 0x800;
    public const int Directory = 0x10000;
}
