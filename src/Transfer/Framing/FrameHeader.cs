using System.Buffers.Binary;
using System.IO.Hashing;
using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Framing;

/// <summary>
/// The fixed 48-byte header in front of every data-channel frame. All integers little-endian:
/// <code>
///  0  u32 magic "FRY1"      4  u8 version (1)   5  u8 type   6  u8 flags   7  u8 reserved (0)
///  8  u32 disk             12  u32 length (uncompressed bytes the frame covers)
/// 16  u64 offset           24  u64 sequence (per connection, chosen by the sender)
/// 32  u64 checksum (XXH3-64 of the uncompressed bytes; 0 for frames without data)
/// 40  u32 payload length   44  u32 CRC-32 of bytes 0..43
/// </code>
/// The header CRC means a damaged header is caught before its lengths are believed; the payload
/// checksum catches damaged data, which the receiver rejects with a Nack and never writes.
/// </summary>
public readonly record struct FrameHeader(
    FrameType Type,
    FrameFlags Flags,
    uint Disk,
    uint Length,
    ulong Offset,
    ulong Sequence,
    ulong Checksum,
    uint PayloadLength)
{
    public const int Size = 48;
    public const uint Magic = 0x31595246; // "FRY1" read as little-endian
    public const byte Version = 1;

    /// <summary>The largest uncompressed length one Data or Zero frame may cover.</summary>
    public const int MaxBlockBytes = 4 << 20;

    /// <summary>The largest payload of a control frame (Hello, Error, DirEnd).</summary>
    public const int MaxControlPayload = 64 << 10;

    /// <summary>The largest file entry: xattrs may hold up to 64 KiB each, ACLs included.</summary>
    public const int MaxEntryPayload = 1 << 20;

    /// <summary>The largest block signature in a Need frame (the basis size, then 12 bytes a block).</summary>
    public const int MaxSignaturePayload = (4 << 20) + 8;

    public void Write(Span<byte> destination)
    {
        var h = destination[..Size];
        BinaryPrimitives.WriteUInt32LittleEndian(h, Magic);
        h[4] = Version;
        h[5] = (byte)Type;
        h[6] = (byte)Flags;
        h[7] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], Disk);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], Length);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], Offset);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], Sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], Checksum);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], PayloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[44..], Crc32.HashToUInt32(h[..44]));
    }

    /// <summary>
    /// Parses and validates a header without trusting it: magic, version, CRC, type, and lengths
    /// against the maxima, so a caller may allocate <see cref="PayloadLength"/> bytes afterwards.
    /// </summary>
    /// <exception cref="ProtocolException">The header is malformed.</exception>
    public static FrameHeader Parse(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new ProtocolException($"frame header truncated: {source.Length} of {Size} bytes");
        }
        var h = source[..Size];
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != Magic)
        {
            throw new ProtocolException("frame does not start with the FRY1 magic");
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(h[44..]) != Crc32.HashToUInt32(h[..44]))
        {
            throw new ProtocolException("frame header fails its CRC-32");
        }
        if (h[4] != Version)
        {
            throw new FerryException(ErrorCode.VersionMismatch, $"the peer speaks data-channel version {h[4]}, this side {Version}",
                "Run the same Ferry version on the agent and the receiver (download the agent package again from the control plane).");
        }
        if (h[7] != 0)
        {
            throw new ProtocolException("frame header's reserved byte is not zero");
        }
        var header = new FrameHeader(
            (FrameType)h[5],
            (FrameFlags)h[6],
            BinaryPrimitives.ReadUInt32LittleEndian(h[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(h[12..]),
            BinaryPrimitives.ReadUInt64LittleEndian(h[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(h[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(h[32..]),
            BinaryPrimitives.ReadUInt32LittleEndian(h[40..]));
        header.Validate();
        return header;
    }

    private void Validate()
    {
        if ((Flags & ~FrameFlags.Lz4) != 0)
        {
            throw new ProtocolException($"frame has unknown flags 0x{(byte)Flags:x2}");
        }
        switch (Type)
        {
            case FrameType.Data:
            case FrameType.FileData:
            case FrameType.Delta:
                if (Length == 0 || Length > MaxBlockBytes)
                {
                    throw new ProtocolException($"data frame length {Length} is outside 1..{MaxBlockBytes}");
                }
                var maxPayload = (Flags & FrameFlags.Lz4) != 0 ? (uint)Lz4Codec.MaxEncodedLength((int)Length) : Length;
                if (PayloadLength == 0 || PayloadLength > maxPayload)
                {
                    throw new ProtocolException($"data frame payload {PayloadLength} does not fit length {Length}");
                }
                break;
            case FrameType.Zero:
                RequireNoPayload();
                if (Length == 0 || Length > MaxBlockBytes)
                {
                    throw new ProtocolException($"zero frame length {Length} is outside 1..{MaxBlockBytes}");
                }
                break;
            case FrameType.Flush:
            case FrameType.FlushAck:
            case FrameType.Nack:
            case FrameType.TreeEnd:
            case FrameType.FileAck:
            case FrameType.TreeAck:
                RequireNoPayload();
                break;
            case FrameType.FileEnd:
                RequireNoPayload();
                if (Length > 1)
                {
                    throw new ProtocolException($"file end frame has unknown status {Length}");
                }
                break;
            case FrameType.Entry:
                RequirePayload(1, MaxEntryPayload);
                break;
            case FrameType.DirEnd:
                RequirePayload(0, MaxControlPayload);
                break;
            case FrameType.Need:
                RequirePayload(0, MaxSignaturePayload);
                // Delta (2): the basis's size (u64) and 12 bytes a block; nothing (0) and whole (1): no payload.
                if (Offset > 2 || (Offset == 2 ? PayloadLength < 8 || (PayloadLength - 8) % 12 != 0 || Length == 0 : PayloadLength != 0))
                {
                    throw new ProtocolException("need frame carries a malformed signature");
                }
                break;
            case FrameType.Hello:
                RequirePayload(DataHandshake.HelloBytes, DataHandshake.HelloBytes);
                break;
            case FrameType.Challenge:
                RequirePayload(DataHandshake.ChallengeBytes, DataHandshake.ChallengeBytes);
                break;
            case FrameType.Error:
                if (PayloadLength > MaxControlPayload || Flags != FrameFlags.None)
                {
                    throw new ProtocolException($"{Type} frame payload of {PayloadLength} bytes is too large");
                }
                break;
            default:
                throw new ProtocolException($"unknown frame type 0x{(byte)Type:x2}");
        }
    }

    private void RequirePayload(int min, int max)
    {
        if (PayloadLength < min || PayloadLength > max || Flags != FrameFlags.None)
        {
            throw new ProtocolException($"{Type} frame payload of {PayloadLength} bytes is outside {min}..{max}");
        }
    }

    private void RequireNoPayload()
    {
        if (PayloadLength != 0 || Flags != FrameFlags.None)
        {
            throw new ProtocolException($"{Type} frame must not carry a payload");
        }
    }
}
