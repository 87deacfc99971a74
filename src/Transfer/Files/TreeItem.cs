using Ferry.Transfer.Protocol;

namespace Ferry.Transfer.Files;

/// <summary>One step of a tree walk: an entry to send, or the end of the directory at <see cref="EndOfDirectory"/>.</summary>
public sealed record TreeItem(FileEntry? Entry, byte[]? EndOfDirectory)
{
    public static TreeItem Of(FileEntry entry) => new(entry, null);

    public static TreeItem End(byte[] directory) => new(null, directory);
}
