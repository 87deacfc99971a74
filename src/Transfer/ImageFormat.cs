namespace Ferry.Transfer;

/// <summary>The image formats the receiver stores, as qemu-img names them.</summary>
public static class ImageFormat
{
    public const string Raw = "raw";
    public const string Default = "qcow2";

    public static readonly IReadOnlyList<string> All = [Raw, "qcow2", "vmdk", "vhdx"];

    public static bool IsKnown(string format) => All.Contains(format);
}
