using System.Security.Cryptography;
using System.Text.Json;
using Ferry.Disks.Interop;
using Ferry.Transfer.Protocol;

namespace Ferry.Receiver.Sessions;

/// <summary>
/// What a block session's unfinished images belong to, kept beside them (<c>OUT/SOURCE/.session.json</c>,
/// mode 0600) so that an interrupted run can reopen them, also after the receiver itself was
/// restarted: the session id, the image format, the disks, and the SHA-256 of the token's key (the
/// key itself admits data connections, so it is not stored).
/// </summary>
public sealed record SessionRecord(string Id, string Owner, string ImageFormat, List<SessionRecordDisk> Disks)
{
    private const string FileName = ".session.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static SessionRecord Of(ReceiveSession session, IEnumerable<SourceDisk> disks) =>
        new(session.IdText, OwnerOf(session.TokenKey), session.ImageFormat, disks.Select(d => new SessionRecordDisk(d.Index, d.Name, (long)d.SizeBytes)).ToList());

    /// <summary>Whether this record is of session <paramref name="id"/>, opened with <paramref name="tokenKey"/>, for the same disks and format.</summary>
    public bool Matches(ReadOnlySpan<byte> id, ReadOnlySpan<byte> tokenKey, string imageFormat, IEnumerable<SourceDisk> disks) =>
        Id == Convert.ToHexStringLower(id)
        && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(Owner), Convert.FromHexString(OwnerOf(tokenKey)))
        && ImageFormat == imageFormat
        && Disks.SequenceEqual(disks.Select(d => new SessionRecordDisk(d.Index, d.Name, (long)d.SizeBytes)));

    public void Save(string directory) => PrivateFile.Write(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Json));

    /// <summary>The record in <paramref name="directory"/>; null when there is none or it cannot be read (then nothing is resumed).</summary>
    public static SessionRecord? Load(string directory)
    {
        try
        {
            var record = JsonSerializer.Deserialize<SessionRecord>(File.ReadAllText(Path.Combine(directory, FileName)), Json);
            return record is { Id.Length: 32, Owner.Length: 64, Disks: not null } ? record : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    public static void Delete(string directory)
    {
        if (Directory.Exists(directory))
        {
            File.Delete(Path.Combine(directory, FileName));
        }
    }

    private static string OwnerOf(ReadOnlySpan<byte> tokenKey) => Convert.ToHexStringLower(SHA256.HashData(tokenKey));
}
