using System.Security.Cryptography;
using System.Text.Json;
using Ferry.Receiver.Images;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

public sealed class ImageStoreHashTests
{
    [Fact]
    public async Task Manifest_Sha256_IsTheWholeFilesHash_AcrossChunksAndHoles()
    {
        // Data regions longer than the hash's 4 MiB reads (each read while the one before is hashed), holes between
        // them and at the end: the manifest's hash is that of every byte, holes read as zeros.
        using var dir = new TempDir();
        var raw = dir["vda.raw"];
        var random = new Random(7);
        using (var file = File.OpenHandle(raw, FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.Write(file, Bytes(random, (9 << 20) + 12345), 0);
            RandomAccess.Write(file, Bytes(random, 5 << 20), 20 << 20);
            RandomAccess.SetLength(file, 32 << 20);
        }

        var manifest = await ImageStore.StoreAsync("src", "raw", [(0, "vda", raw)], CancellationToken.None);

        var expected = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(raw)));
        Assert.Equal(expected, manifest.Disks[0].Sha256);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(dir["manifest.json"]));
        Assert.Equal(expected, json.RootElement.GetProperty("disks")[0].GetProperty("sha256").GetString());
    }

    private static byte[] Bytes(Random random, int count)
    {
        var b = new byte[count];
        random.NextBytes(b);
        return b;
    }
}
