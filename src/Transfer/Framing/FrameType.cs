namespace Ferry.Transfer.Framing;

/// <summary>Data-channel frame types. Values are on the wire: never renumber.</summary>
public enum FrameType : byte
{
    /// <summary>
    /// Agent → receiver, first frame of a connection, answering the Challenge: the 16-byte session id
    /// and the proof of the job's token (see DataHandshake).
    /// </summary>
    Hello = 1,

    /// <summary>Agent → receiver: <c>length</c> bytes for <c>(disk, offset)</c>, raw or LZ4-compressed.</summary>
    Data = 2,

    /// <summary>Agent → receiver: the range <c>(disk, offset, length)</c> is all zeros; no payload.</summary>
    Zero = 3,

    /// <summary>Agent → receiver: make everything before this frame durable and answer with FlushAck.</summary>
    Flush = 4,

    /// <summary>
    /// Agent → receiver (file replication): one file-tree entry; payload is a <c>FileEntry</c> message,
    /// <c>disk</c> the tree, <c>sequence</c> the file id a regular file's Need and data refer to.
    /// </summary>
    Entry = 5,

    /// <summary>Agent → receiver: <c>length</c> bytes of file <c>sequence</c> at <c>offset</c>, raw or LZ4-compressed.</summary>
    FileData = 6,

    /// <summary>Agent → receiver: delta instructions for file <c>sequence</c> against the receiver's copy (see DeltaOps).</summary>
    Delta = 7,

    /// <summary>
    /// Agent → receiver: file <c>sequence</c> is complete at <c>offset</c> bytes and its content hashes
    /// (XXH3-64) to <c>checksum</c>; <c>length</c> 1 means it vanished on the source instead.
    /// </summary>
    FileEnd = 8,

    /// <summary>Agent → receiver: every entry of the directory named by the payload has been sent.</summary>
    DirEnd = 9,

    /// <summary>Agent → receiver: tree <c>disk</c> is complete; answered with TreeAck.</summary>
    TreeEnd = 10,

    /// <summary>Receiver → agent: the Data frame with this <c>sequence</c> failed its checksum and was not written.</summary>
    Nack = 0x82,

    /// <summary>Receiver → agent: everything up to the Flush with this <c>sequence</c> is written and flushed.</summary>
    FlushAck = 0x83,

    /// <summary>
    /// Receiver → agent: what file <c>sequence</c> needs: <c>offset</c> 0 nothing (unchanged), 1 the
    /// whole file, 2 a delta against the payload: the receiver's copy's size (u64) and its block signature (<c>length</c> is the block size).
    /// </summary>
    Need = 0x85,

    /// <summary>Receiver → agent: file <c>sequence</c> is in place (<c>offset</c> 0) or must be sent again whole (1).</summary>
    FileAck = 0x86,

    /// <summary>Receiver → agent: tree <c>disk</c> is complete and durable.</summary>
    TreeAck = 0x87,

    /// <summary>Receiver → agent, first frame of a connection: 32 random bytes the Hello must answer.</summary>
    Challenge = 0x88,

    /// <summary>Either way: the connection ends; payload is "CODE\nmessage" in UTF-8.</summary>
    Error = 0x84,
}
