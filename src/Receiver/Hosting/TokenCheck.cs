using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Ferry.Transfer.Control;

namespace Ferry.Receiver.Hosting;

/// <summary>
/// The tokens a receiver accepts, kept as SHA-256 hashes only: the receiver's own token
/// (<c>ferry receiver --token</c>) and, under a control plane, one token per running job, each
/// with the transport security its job asks for.
/// </summary>
public sealed class TokenCheck
{
    private readonly ConcurrentDictionary<string, TransportSecurity> _hashes = new();

    private TokenCheck()
    {
    }

    public static TokenCheck FromToken(string token, TransportSecurity security = TransportSecurity.Auto)
    {
        var check = new TokenCheck();
        check.Allow(token, security);
        return check;
    }

    /// <summary>No token yet: a control plane adds one per job.</summary>
    public static TokenCheck Empty() => new();

    public void Allow(string token, TransportSecurity security = TransportSecurity.Auto)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new ArgumentException("the token must not be empty", nameof(token));
        }
        _hashes[Hash(token)] = security;
    }

    /// <summary>The transport security of the token whose key (SHA-256) is <paramref name="key"/>; On when it is unknown.</summary>
    public TransportSecurity SecurityOf(ReadOnlySpan<byte> key) =>
        _hashes.TryGetValue(Convert.ToHexStringLower(key), out var security) ? security : TransportSecurity.On;

    public void Revoke(string token) => _hashes.TryRemove(Hash(token), out _);

    /// <summary>Whether <paramref name="presented"/> is accepted; compared as hashes, so in time independent of the secret.</summary>
    public bool Matches(string? presented)
    {
        if (presented is null)
        {
            return false;
        }
        var hash = Encoding.ASCII.GetBytes(Hash(presented));
        var found = false;
        foreach (var known in _hashes.Keys)
        {
            found |= CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(known));
        }
        return found;
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
