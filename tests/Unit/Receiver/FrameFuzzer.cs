using System.Buffers.Binary;
using System.IO.Hashing;
using Ferry.Transfer;
using Ferry.Transfer.Framing;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>
/// Test-only generator of hostile data-channel traffic for one block session of one disk: mostly
/// well-formed frames (so that a connection goes deep), each mutated with some probability: lengths
/// at and past the limits, offsets past the end of the disk and wrapping round, overlapping ranges,
/// damaged or lying LZ4 payloads, wrong checksums, unknown types and versions, flipped header bits,
/// payload lengths that lie, raw junk, and streams cut short. Deterministic for a seed.
/// </summary>
internal sealed class FrameFuzzer(int seed, long diskBytes)
{
    private static readonly FrameType[] AgentTypes = [FrameType.Data, FrameType.Zero, FrameType.Flush];

    private readonly Random _random = new(seed);

    /// <summary>Frames written so far, over all connections.</summary>
    public long Frames { get; private set; }

    /// <summary>Writes up to <paramref name="count"/> frames (the last may be cut short) as one connection's traffic after its Hello.</summary>
    public void WriteConnection(Stream output, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Frames++;
            var frame = NextFrame();
            if (i == count - 1 && _random.Next(4) == 0)
            {
                // The stream ends inside the last frame.
                output.Write(frame, 0, _random.Next(frame.Length));
                return;
            }
            output.Write(frame);
        }
    }

    private byte[] NextFrame()
    {
        var mutate = _random.Next(1000) < 7;
        var type = AgentTypes[_random.Next(AgentTypes.Length)];
        var length = (uint)_random.Next(1, 1025);
        var offset = (ulong)_random.NextInt64(0, diskBytes - length + 1);
        var flags = FrameFlags.None;
        byte[] payload = [];
        ulong checksum = 0;
        if (type == FrameType.Data)
        {
            var data = new byte[length];
            _random.NextBytes(data.AsSpan(0, _random.Next((int)length + 1)));
            checksum = XxHash3.HashToUInt64(data);
            payload = data;
            if (_random.Next(2) == 0)
            {
                var encoded = new byte[Lz4Codec.MaxEncodedLength(data.Length)];
                var n = Lz4Codec.TryEncode(data, encoded, 1);
                if (n > 0)
                {
                    payload = encoded[..n];
                    flags = FrameFlags.Lz4;
                }
            }
            if (_random.Next(50) == 0)
            {
                checksum ^= 1UL << _random.Next(64); // damaged in flight: must be Nacked, never written
            }
        }
        if (mutate)
        {
            switch (_random.Next(14))
            {
                case 0: offset = (ulong)diskBytes - (ulong)_random.Next(0, (int)length); break;                // runs past the end
                case 1: offset = ulong.MaxValue - (ulong)_random.Next(4096); break;                              // wraps round (negative as signed)
                case 2: length = (uint)FrameHeader.MaxBlockBytes + (uint)_random.Next(1, 3); break;              // past the block limit
                case 3: length = (uint)FrameHeader.MaxBlockBytes; type = FrameType.Zero; offset = (ulong)diskBytes - 1; break;
                case 4: type = (FrameType)_random.Next(256); break;                                              // unknown or receiver-only types
                case 5: flags = (FrameFlags)_random.Next(2, 256); break;
                case 6: payload = Junk(_random.Next(0, 2048)); flags = FrameFlags.Lz4; type = FrameType.Data; break; // bad LZ4
                case 7: if (payload.Length > 4) { payload = payload[..(payload.Length / 2)]; } break;           // truncated payload
                case 8: return Junk(_random.Next(1, 200));                                                      // not a frame at all
                case 9: type = FrameType.Hello; payload = Junk(DataHandshake.HelloBytes); break;                // a second Hello
                case 10: type = (FrameType)_random.Next(5, 11); payload = Junk(_random.Next(0, 300)); break;   // file frames on a block session
                case 11: length = 0; break;
                case 12: offset = (ulong)diskBytes; length = 1; break;
                default: type = FrameType.Data; payload = Junk((int)length); checksum = XxHash3.HashToUInt64(payload); break;
            }
        }
        var bytes = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(type, flags, 0, length, offset, (ulong)Frames, checksum, (uint)payload.Length).Write(bytes);
        payload.CopyTo(bytes, FrameHeader.Size);
        if (mutate && _random.Next(4) == 0)
        {
            var kind = _random.Next(4);
            switch (kind)
            {
                case 0: bytes[_random.Next(FrameHeader.Size)] ^= (byte)(1 << _random.Next(8)); break;            // header CRC fails
                case 1: bytes[4] = (byte)_random.Next(2, 256); break;                                           // unknown version
                case 2: BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), (uint)_random.Next()); break; // payload length lies
                default: BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)_random.Next(1, int.MaxValue)); break; // another disk
            }
            if (kind > 0)
            {
                // A header that lies consistently: its CRC matches, so only the checks behind the CRC can refuse it.
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(44), Crc32.HashToUInt32(bytes.AsSpan(0, 44)));
            }
        }
        return bytes;
    }

    private byte[] Junk(int length)
    {
        var b = new byte[length];
        _random.NextBytes(b);
        return b;
    }
}
