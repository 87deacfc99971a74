using Ferry.Transfer.Errors;
using Ferry.Transfer.Framing;
using Xunit;

namespace Ferry.Tests.Unit.Framing;

public sealed class FrameHeaderTests
{
    private static readonly FrameHeader DataHeader = new(FrameType.Data, FrameFlags.None, 3, 4096, 1 << 20, 42, 0xDEADBEEFCAFEF00D, 4096);

    [Fact]
    public void Parse_WrittenHeader_RoundTrips()
    {
        var bytes = new byte[FrameHeader.Size];
        DataHeader.Write(bytes);

        Assert.Equal(DataHeader, FrameHeader.Parse(bytes));
    }

    [Fact]
    public void Parse_Truncated_ThrowsProtocolError()
    {
        var bytes = new byte[FrameHeader.Size];
        DataHeader.Write(bytes);

        var e = Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes.AsSpan(0, 47)));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(13)]
    [InlineData(20)]
    [InlineData(40)]
    [InlineData(46)]
    public void Parse_AnyFlippedBit_IsRejected(int byteIndex)
    {
        var bytes = new byte[FrameHeader.Size];
        DataHeader.Write(bytes);
        bytes[byteIndex] ^= 0x10;

        Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
    }

    [Fact]
    public void Parse_LengthAboveMaximum_IsRejectedBeforeAnyAllocation()
    {
        var oversize = DataHeader with { Length = FrameHeader.MaxBlockBytes + 1, PayloadLength = FrameHeader.MaxBlockBytes + 1 };
        var bytes = new byte[FrameHeader.Size];
        oversize.Write(bytes);

        var e = Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
        Assert.Contains("outside", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RawPayloadLongerThanLength_IsRejected()
    {
        var bytes = new byte[FrameHeader.Size];
        (DataHeader with { PayloadLength = 4097 }).Write(bytes);

        Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
    }

    [Theory]
    [InlineData(FrameType.Zero)]
    [InlineData(FrameType.Flush)]
    [InlineData(FrameType.Nack)]
    public void Parse_HeaderOnlyTypeWithPayload_IsRejected(FrameType type)
    {
        var bytes = new byte[FrameHeader.Size];
        (DataHeader with { Type = type, PayloadLength = 16 }).Write(bytes);

        Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
    }

    [Fact]
    public void Parse_UnknownType_IsRejected()
    {
        var bytes = new byte[FrameHeader.Size];
        (DataHeader with { Type = (FrameType)0x55 }).Write(bytes);

        var e = Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
        Assert.Contains("unknown frame type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_OversizeControlPayload_IsRejected()
    {
        var bytes = new byte[FrameHeader.Size];
        new FrameHeader(FrameType.Hello, FrameFlags.None, 0, 0, 0, 0, 0, FrameHeader.MaxControlPayload + 1).Write(bytes);

        Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
    }

    [Theory]
    [InlineData(FrameType.Need, 2UL, 700U, 8U + 24U, true)]
    [InlineData(FrameType.Need, 2UL, 700U, 8U + 25U, false)]
    [InlineData(FrameType.Need, 2UL, 0U, 8U, false)]
    [InlineData(FrameType.Need, 1UL, 0U, 12U, false)]
    [InlineData(FrameType.Need, 3UL, 0U, 0U, false)]
    [InlineData(FrameType.Entry, 0UL, 0U, 0U, false)]
    [InlineData(FrameType.Entry, 0UL, 0U, 100U, true)]
    [InlineData(FrameType.Entry, 0UL, 0U, (1U << 20) + 1, false)]
    [InlineData(FrameType.FileEnd, 100UL, 2U, 0U, false)]
    [InlineData(FrameType.FileEnd, 100UL, 1U, 0U, true)]
    [InlineData(FrameType.TreeEnd, 0UL, 0U, 1U, false)]
    public void Parse_FileFrames_ValidatesPayloadShape(FrameType type, ulong offset, uint length, uint payload, bool valid)
    {
        var bytes = new byte[FrameHeader.Size];
        new FrameHeader(type, FrameFlags.None, 0, length, offset, 7, 0, payload).Write(bytes);
        if (valid)
        {
            Assert.Equal(type, FrameHeader.Parse(bytes).Type);
        }
        else
        {
            Assert.Throws<ProtocolException>(() => FrameHeader.Parse(bytes));
        }
    }
}
