using System.Security.Cryptography;
using System.Text;

namespace Ferry.Transfer.Framing;

/// <summary>
/// How a data connection proves it belongs to a job. The receiver opens every connection with a
/// Challenge frame of 32 random bytes; the agent answers with Hello: the session id, then
/// HMAC-SHA256 over ("ferry-data-v1", challenge, session id) keyed with the SHA-256 of the job's
/// token. The token never crosses the data channel, a recorded Hello is worthless on another
/// connection (its challenge differs), and the receiver checks it holding only the token's hash.
/// </summary>
public static class DataHandshake
{
    public const int ChallengeBytes = 32;
    public const int SessionIdBytes = 16;
    public const int HelloBytes = SessionIdBytes + 32;

    private static readonly byte[] Context = "ferry-data-v1"u8.ToArray();

    /// <summary>The key a token gives: its SHA-256, which is also all the receiver keeps of it.</summary>
    public static byte[] Key(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static byte[] NewChallenge() => RandomNumberGenerator.GetBytes(ChallengeBytes);

    /// <summary>The Hello payload answering <paramref name="challenge"/>.</summary>
    public static byte[] Hello(ReadOnlySpan<byte> key, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> sessionId)
    {
        var hello = new byte[HelloBytes];
        sessionId.CopyTo(hello);
        Proof(key, challenge, sessionId, hello.AsSpan(SessionIdBytes));
        return hello;
    }

    /// <summary>Whether <paramref name="hello"/> proves <paramref name="key"/> for <paramref name="challenge"/> (in time independent of the key).</summary>
    public static bool Verify(ReadOnlySpan<byte> key, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> hello)
    {
        if (hello.Length != HelloBytes)
        {
            return false;
        }
        Span<byte> expected = stackalloc byte[32];
        Proof(key, challenge, hello[..SessionIdBytes], expected);
        return CryptographicOperations.FixedTimeEquals(expected, hello[SessionIdBytes..]);
    }

    private static void Proof(ReadOnlySpan<byte> key, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> sessionId, Span<byte> destination)
    {
        var message = new byte[Context.Length + challenge.Length + sessionId.Length];
        Context.CopyTo(message, 0);
        challenge.CopyTo(message.AsSpan(Context.Length));
        sessionId.CopyTo(message.AsSpan(Context.Length + challenge.Length));
        HMACSHA256.HashData(key, message, destination);
    }
}
