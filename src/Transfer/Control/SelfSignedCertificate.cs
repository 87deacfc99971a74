using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Transfer.Control;

/// <summary>
/// A server's own TLS identity (the receiver's, the control plane's agent API): an ECDSA P-256 key
/// and a self-signed certificate made at first start and kept (PKCS#12, 0600) for the next. Agents
/// pin its SHA-256 fingerprint (<see cref="CertificatePin"/>); no CA is involved.
/// </summary>
public static class SelfSignedCertificate
{
    public static X509Certificate2 LoadOrCreate(string path, string commonName)
    {
        if (File.Exists(path))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
        var pfx = created.Export(X509ContentType.Pkcs12);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written 0600 from the start: the private key is never readable by others, even briefly.
        using (var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            file.Write(pfx);
        }
        return X509CertificateLoader.LoadPkcs12(pfx, password: null);
    }
}
