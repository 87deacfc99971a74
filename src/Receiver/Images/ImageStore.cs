using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;

namespace Ferry.Receiver.Images;

/// <summary>
/// Turns the finished raw disks of a session into the stored images: converts them with
/// <c>qemu-img convert</c> (raw, qcow2, vmdk, vhdx), checks them with <c>qemu-img check</c> where the
/// format supports it, hashes each file (SHA-256), and writes <c>manifest.json</c> beside them.
/// </summary>
public static class ImageStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <param name="disks">Index, name and finished raw path of each disk.</param>
    public static async Task<ImageManifest> StoreAsync(string source, string format, IReadOnlyList<(uint Index, string Name, string RawPath)> disks,
        CancellationToken ct)
    {
        var entries = new List<ImageManifest.Disk>();
        foreach (var (index, name, raw) in disks)
        {
            var path = raw;
            if (format != Transfer.ImageFormat.Raw)
            {
                path = Path.ChangeExtension(raw, format);
                var partial = path + ".partial";
                await QemuImgAsync(ct, "convert", "-q", "-f", "raw", "-O", format, raw, partial);
                if (format != "vmdk")
                {
                    // qemu-img check verifies the image's own metadata (qcow2 refcounts, vhdx log); vmdk has none to check.
                    await QemuImgAsync(ct, "check", "-q", "-f", format, partial);
                }
                File.Move(partial, path, overwrite: true);
                File.Delete(raw);
            }
            var size = await VirtualSizeAsync(path, format, ct);
            entries.Add(new ImageManifest.Disk(index, name, format, path, size, new FileInfo(path).Length, await Sha256Async(path, ct)));
        }
        var manifest = new ImageManifest(source, DateTimeOffset.UtcNow, entries);
        var directory = Path.GetDirectoryName(disks[0].RawPath)!;
        await File.WriteAllTextAsync(Path.Combine(directory, "manifest.json"), JsonSerializer.Serialize(manifest, Json), ct);
        return manifest;
    }

    private static async Task<long> VirtualSizeAsync(string path, string format, CancellationToken ct)
    {
        if (format == Transfer.ImageFormat.Raw)
        {
            return new FileInfo(path).Length;
        }
        using var info = JsonDocument.Parse(await QemuImgAsync(ct, "info", "--output=json", "-f", format, path));
        return info.RootElement.GetProperty("virtual-size").GetInt64();
    }

    private static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }

    private static async Task<string> QemuImgAsync(CancellationToken ct, params string[] args)
    {
        var psi = new ProcessStartInfo("qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException("qemu-img is not installed on the receiver (Debian package qemu-utils)", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
            {
                throw new IOException($"qemu-img {args[0]} failed ({process.ExitCode}): {(await stderr).Trim()}");
            }
            return await stdout;
        }
    }
}
