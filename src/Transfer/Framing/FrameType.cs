namespace Ferry.Transfer.Framing;

/// <summary>Data-channel frame types. Values are on the wire: never renumber.</summary>
public enum FrameType : byte
{
    /// <summary>Agent → receiver, first frame of a connection: payload is the 16-byte session id.</summary>
    Hello = 1,

    /// <summary>Agent → receiver: <c>length</c> bytes for <c>(disk, offset)</c>, raw or LZ4-compressed.</summary>
    Data = 2,

    /// <summary>Agent → receiver: the range <c>(disk, offset, length)</c> is all zeros; no payload.</summary>
    Zero = 3,

    /// <summary>Agent → receiver: make everything before this frame durable and answer with FlushAck.</summary>
    Flush = 4,

    /// <summary>Receiver → agent: the Data frame with this <c>sequence</c> failed its checksum and was not written.</summary>
    Nack = 0x82,

    /// <summary>Receiver → agent: everything up to the Flush with this <c>sequence</c> is written and flushed.</summary>
    FlushAck = 0x83,

    /// <summary>Either way: the connection ends; payload is "CODE\nmessage" in UTF-8.</summary>
    Error = 0x84,
}
