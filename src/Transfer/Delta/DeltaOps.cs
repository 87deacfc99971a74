using System.Buffers.Binary;
using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Delta;

/// <summary>
/// The instructions of a Delta frame, in order, little-endian:
/// <code>
/// 0x01 u32 block u32 count   copy blocks [block, block+count) of the receiver's copy
/// 0x02 u32 length  bytes     literal bytes
/// </code>
/// </summary>
public static class DeltaOps
{
    public const byte Copy = 1;
    public const byte Literal = 2;
    public const int CopyBytes = 9;
    public const int LiteralHeaderBytes = 5;

    public static void WriteCopy(Span<byte> destination, int block, int count)
    {
        destination[0] = Copy;
        BinaryPrimitives.WriteInt32LittleEndian(destination[1..], block);
        BinaryPrimitives.WriteInt32LittleEndian(destination[5..], count);
    }

    public static void WriteLiteralHeader(Span<byte> destination, int length)
    {
        destination[0] = Literal;
        BinaryPrimitives.WriteInt32LittleEndian(destination[1..], length);
    }

    /// <summary>Walks the instructions, checking each against the basis before the caller acts on it.</summary>
    /// <exception cref="ProtocolException">An instruction is malformed or names blocks the basis does not have.</exception>
    public static void Apply(ReadOnlySpan<byte> ops, int blockCount, IDeltaTarget target)
    {
        while (!ops.IsEmpty)
        {
            switch (ops[0])
            {
                case Copy when ops.Length >= CopyBytes:
                    var block = BinaryPrimitives.ReadInt32LittleEndian(ops[1..]);
                    var count = BinaryPrimitives.ReadInt32LittleEndian(ops[5..]);
                    if (block < 0 || count <= 0 || block > blockCount - count)
                    {
                        throw new ProtocolException($"delta copies blocks {block}+{count} of a basis with {blockCount}");
                    }
                    target.CopyBlocks(block, count);
                    ops = ops[CopyBytes..];
                    break;
                case Literal when ops.Length >= LiteralHeaderBytes:
                    var length = BinaryPrimitives.ReadInt32LittleEndian(ops[1..]);
                    if (length <= 0 || length > ops.Length - LiteralHeaderBytes)
                    {
                        throw new ProtocolException($"delta literal of {length} bytes overruns its frame");
                    }
                    target.Write(ops.Slice(LiteralHeaderBytes, length));
                    ops = ops[(LiteralHeaderBytes + length)..];
                    break;
                default:
                    throw new ProtocolException($"delta instruction 0x{ops[0]:x2} is unknown or truncated");
            }
        }
    }
}
