namespace Ferry.Transfer.Framing;

/// <summary>
/// The agent speaks first on a data connection: a TLS ClientHello (its first byte is 0x16, a TLS
/// handshake record), or these 8 bytes for cleartext, which the receiver accepts only where the
/// job allows it. Either way the receiver then sends its Challenge.
/// </summary>
public static class DataPreamble
{
    public const byte TlsHandshakeRecord = 0x16;

    public static ReadOnlySpan<byte> Cleartext => "FRY-PLN1"u8;
}
