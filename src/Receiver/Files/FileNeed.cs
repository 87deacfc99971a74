namespace Ferry.Receiver.Files;

/// <summary>The receiver's answer to a regular file's entry (a Need frame).</summary>
internal sealed record FileNeed(FileNeedKind Kind, int BlockSize, byte[] Signature)
{
    public static readonly FileNeed Nothing = new(FileNeedKind.Nothing, 0, []);
    public static readonly FileNeed Whole = new(FileNeedKind.Whole, 0, []);
}
