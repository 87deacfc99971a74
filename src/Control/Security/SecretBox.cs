using System.Security.Cryptography;
using System.Text;
using Ferry.Disks.Interop;

namespace Ferry.Control.Security;

/// <summary>
/// Encrypts values the control plane must be able to read back (AccessKey secrets, which verify
/// signatures) with AES-256-GCM under a key kept in the data directory (mode 0600).
/// </summary>
public sealed class SecretBox
{
    private readonly byte[] _key;

    private SecretBox(byte[] key) => _key = key;

    public static SecretBox OpenOrCreate(string keyFile)
    {
        if (!File.Exists(keyFile))
        {
            PrivateFile.Write(keyFile, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }
        return new SecretBox(Convert.FromBase64String(File.ReadAllText(keyFile).Trim()));
    }

    /// <summary>
    /// A secret that is the same each time it is asked for with <paramref name="purpose"/> (HKDF of
    /// this box's key): a job's receiver token, so that a retried job, also after a restart of the
    /// control plane, owns the unfinished images its earlier run left on the receiver.
    /// </summary>
    public string Derive(string purpose) =>
        Secrets.Base64Url(HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, 32, [], Encoding.UTF8.GetBytes("ferry-derived-v1:" + purpose)));

    public string Seal(string plaintext)
    {
        var nonce = RandomNumberGenerator.GetBytes(12);
        var data = Encoding.UTF8.GetBytes(plaintext);
        var cipher = new byte[data.Length];
        var tag = new byte[16];
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(nonce, data, cipher, tag);
        return Convert.ToBase64String([.. nonce, .. tag, .. cipher]);
    }

    public string Open(string sealedText)
    {
        var all = Convert.FromBase64String(sealedText);
        var plain = new byte[all.Length - 28];
        using var aes = new AesGcm(_key, 16);
        aes.Decrypt(all.AsSpan(0, 12), all.AsSpan(28), all.AsSpan(12, 16), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
