using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ferry.Transfer.Control;

/// <summary>
/// AccessKey request signing: HMAC-SHA256, keyed with the AccessKey secret, over
/// "METHOD\nPATH\nTIMESTAMP\nSHA256(BODY)" (timestamp in Unix seconds, hashes in lower-case hex).
/// A signature is accepted within <see cref="MaxSkew"/> of the server's clock.
/// </summary>
public static class RequestSignature
{
    public const string KeyIdHeader = "ferry-accesskey-id";
    public const string TimestampHeader = "ferry-timestamp";
    public const string SignatureHeader = "ferry-signature";

    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);

    public static string Sign(string secret, string method, string path, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var canonical = string.Join('\n', method.ToUpperInvariant(), path, unixSeconds.ToString(CultureInfo.InvariantCulture),
            Convert.ToHexStringLower(SHA256.HashData(body)));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(canonical)));
    }

    public static bool Verify(string secret, string method, string path, long unixSeconds, ReadOnlySpan<byte> body, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, method, path, unixSeconds, body)), Encoding.ASCII.GetBytes(signature));

    /// <summary>How far <paramref name="unixSeconds"/> is from <paramref name="now"/>.</summary>
    public static TimeSpan Skew(long unixSeconds, DateTimeOffset now) => now - DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
}
