namespace Ferry.Transfer.Framing;

[Flags]
public enum FrameFlags : byte
{
    None = 0,

    /// <summary>The payload is an LZ4 block that decodes to exactly <c>length</c> bytes.</summary>
    Lz4 = 1,
}
