namespace Ferry.Transfer.Files;

/// <summary>What a sender worker does next for a file: send it whole (1), as a delta (2), or announce it again.</summary>
internal sealed record FileWork(ulong Id, int Kind, int BlockSize, byte[] Signature)
{
    public const int Announce = -1;
}
