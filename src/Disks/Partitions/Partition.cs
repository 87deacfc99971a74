namespace Ferry.Disks.Partitions;

/// <summary>One entry of a partition table, in bytes from the start of the disk.</summary>
/// <param name="Number">The kernel's partition number (GPT entry index + 1; MBR 1–4, logical from 5).</param>
/// <param name="Type">GPT type GUID in upper case, or the MBR type byte as two hex digits ("83").</param>
/// <param name="UniqueId">GPT partition GUID in upper case; for MBR the kernel's "DISKID-NN" form.</param>
public sealed record Partition(
    int Number,
    long StartBytes,
    long SizeBytes,
    string Type,
    string? UniqueId,
    string? Name,
    bool Bootable)
{
    public const string GptBiosBoot = "21686148-6449-6E6F-744E-656564454649";
    public const string GptEfiSystem = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    public const string GptLinuxLvm = "E6D6D379-F507-44C2-A23C-238F2A3DF928";

    public long EndBytes => StartBytes + SizeBytes;

    /// <summary>An MBR extended partition: a container whose content is the EBR chain.</summary>
    public bool IsExtended => Type is "05" or "0f" or "85";

    /// <summary>A BIOS-boot partition holds GRUB's core image: raw boot code, always sent whole.</summary>
    public bool IsBiosBoot => Type == GptBiosBoot;

    public bool IsEfiSystem => Type is GptEfiSystem or "ef";
}
