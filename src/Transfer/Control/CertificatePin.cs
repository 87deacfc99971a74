using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Transfer.Control;

/// <summary>
/// Certificate pinning without a CA: a receiver (or control plane) is known by the SHA-256 of its
/// certificate, handed to the agent with the job or on its command line, and no other certificate
/// is accepted, whoever signed it.
/// </summary>
public sealed class CertificatePin
{
    private CertificatePin(string fingerprint)
    {
        Fingerprint = fingerprint;
    }

    /// <summary>The expected fingerprint: 64 lower-case hex digits.</summary>
    public string Fingerprint { get; }

    /// <summary>What the peer presented, when it was not the pinned certificate (for the error message).</summary>
    public string? Presented { get; private set; }

    /// <summary>Parses a fingerprint as printed (hex, any case, colons allowed); null when it is not one.</summary>
    public static CertificatePin? TryParse(string? text)
    {
        var hex = (text ?? "").Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigitLower) ? new CertificatePin(hex) : null;
    }

    /// <summary>The fingerprint of <paramref name="certificate"/>: SHA-256 of its DER encoding, lower-case hex.</summary>
    public static string Of(X509Certificate certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary>TLS client options that accept exactly the pinned certificate (TLS 1.2 at least).</summary>
    public SslClientAuthenticationOptions ClientOptions(string host) => new()
    {
        TargetHost = host,
        EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accepts(certificate),
    };

    /// <summary>Whether <paramref name="certificate"/> is the pinned one; the chain and name do not matter, only the pin.</summary>
    public bool Accepts(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }
        var presented = Of(certificate);
        if (CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(presented), System.Text.Encoding.ASCII.GetBytes(Fingerprint)))
        {
            return true;
        }
        Presented = presented;
        return false;
    }
}
