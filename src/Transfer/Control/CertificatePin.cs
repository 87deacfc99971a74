using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ferry.Transfer.Errors;

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

    /// <summary>The TLS versions Ferry speaks, client and server: 1.2 at least.</summary>
    public const System.Security.Authentication.SslProtocols Protocols =
        System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;

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
        EnabledSslProtocols = Protocols,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accepts(certificate),
    };

    /// <summary>
    /// The error for a handshake in which <paramref name="peer"/> (for example "the receiver at
    /// HOST:PORT") presented another certificate; null when the pin was not what failed it.
    /// </summary>
    public FerryException? MismatchError(string peer, string hint) => Presented is { } presented
        ? new FerryException(ErrorCode.CertificateMismatch,
            $"{peer} presented certificate SHA-256 {presented}, not the pinned {Fingerprint}; nothing was sent",
            "Someone may be intercepting the connection, or another server answers at that address. " + hint)
        : null;

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
