using System.Security.Cryptography;
using System.Text;

namespace Ferry.Receiver.Hosting;

/// <summary>Checks a presented token against the SHA-256 of the expected one, in constant time.</summary>
public sealed class TokenCheck
{
    private readonly byte[] _hash;

    private TokenCheck(byte[] hash) => _hash = hash;

    public static TokenCheck FromToken(string token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new ArgumentException("the token must not be empty", nameof(token));
        }
        return new TokenCheck(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    public bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
}
