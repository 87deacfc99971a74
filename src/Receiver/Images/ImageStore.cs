using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

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
    /// <param name="outputDirectory">
    /// Null: the images replace the raw files beside them (block replication). Otherwise the images are
    /// written there and the raw files are kept: they are a file replication's working copy, which the
    /// next sync of the same source updates with deltas.
    /// </param>
    public static async Task<ImageManifest> StoreAsync(string source, string format, IReadOnlyList<(uint Index, string Name, string RawPath)> disks,
        CancellationToken ct, string? outputDirectory = null)
    {
        var entries = new List<ImageManifest.Disk>();
        foreach (var (index, name, raw) in disks)
        {
            var path = raw;
            if (format != Transfer.ImageFormat.Raw || outputDirectory is not null)
            {
                path = Path.Combine(outputDirectory ?? Path.GetDirectoryName(raw)!, name + "." + format);
                var partial = path + ".partial";
                await QemuImgAsync(ct, "convert", "-q", "-f", "raw", "-O", format, raw, partial);
                if (format is not ("vmdk" or "raw"))
                {
                    // qemu-img check verifies the image's own metadata (qcow2 refcounts, vhdx log); raw and vmdk have none to check.
                    await QemuImgAsync(ct, "check", "-q", "-f", format, partial);
                }
                File.Move(partial, path, overwrite: true);
                if (outputDirectory is null)
                {
                    File.Delete(raw);
                }
            }
            var size = await VirtualSizeAsync(path, format, ct);
            entries.Add(new ImageManifest.Disk(index, name, format, path, size, new FileInfo(path).Length, await Sha256Async(path, ct)));
        }
        var manifest = new ImageManifest(source, DateTimeOffset.UtcNow, entries);
        var directory = outputDirectory ?? Path.GetDirectoryName(disks[0].RawPath)!;
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

    /// <summary>
    /// SHA-256 of the file with large positional reads (about 40% faster than a FileStream here), each read while the one
    /// before is hashed (hashing runs at about 1.8 GB/s here). The reads go past the page cache where the file allows it:
    /// the receiver wrote the image past it too, and reading it back through the cache cost more CPU than the hash. The
    /// holes of a sparse image are hashed as the zeros they read as, without reading them: reading a 4 GiB image that
    /// holds 1 GiB took 10 s, most of it the kernel making zero pages.
    /// </summary>
    private static Task<string> Sha256Async(string path, CancellationToken ct) => Task.Run(async () =>
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        using var direct = Disks.Files.PosixFiles.TryOpenDirect(path);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        const int Chunk = 4 << 20;
        var current = Disks.AlignedBuffer.Rent(Chunk);
        var next = Disks.AlignedBuffer.Rent(Chunk);
        var zeros = new byte[Chunk];
        Task<int>? ahead = null;
        try
        {
            var length = RandomAccess.GetLength(handle);
            for (long offset = 0; offset < length;)
            {
                var data = Disks.Files.PosixFiles.SeekData(handle, offset);
                var holeEnd = data < 0 ? length : Math.Min(data, length);
                for (; offset < holeEnd; offset += Math.Min(Chunk, holeEnd - offset))
                {
                    ct.ThrowIfCancellationRequested();
                    hash.AppendData(zeros, 0, (int)Math.Min(Chunk, holeEnd - offset));
                }
                if (offset >= length)
                {
                    break;
                }
                var hole = Disks.Files.PosixFiles.SeekHole(handle, offset);
                var dataEnd = hole <= offset ? length : Math.Min(length, hole);
                var n = ReadChunk(handle, direct, current, offset, dataEnd, path);
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    var after = offset + n;
                    var buffer = next;
                    ahead = after < dataEnd ? Task.Run(() => ReadChunk(handle, direct, buffer, after, dataEnd, path), ct) : null;
                    hash.AppendData(current.Span[..n]);
                    offset = after;
                    if (ahead is null)
                    {
                        break;
                    }
                    n = await ahead;
                    ahead = null;
                    (current, next) = (next, current);
                }
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            // A read still going writes into its buffer: it ends before the buffer goes back to the pool (its own error
            // adds nothing to the one that stopped the hash).
            if (ahead is not null)
            {
                await ahead.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            current.Dispose();
            next.Dispose();
        }
    }, ct);

    /// <summary>
    /// Up to a buffer of the file's data from <paramref name="offset"/> (before <paramref name="end"/>); never nothing. The
    /// whole pages go past the cache when <paramref name="direct"/> is open and the filesystem takes such a read.
    /// </summary>
    private static int ReadChunk(SafeFileHandle handle, SafeFileHandle? direct, Disks.AlignedBuffer buffer, long offset, long end, string path)
    {
        var span = buffer.Span[..(int)Math.Min(buffer.Capacity, end - offset)];
        var pages = span[..(span.Length & -Disks.AlignedBuffer.Alignment)];
        if (direct is not null && Disks.AlignedBuffer.IsAligned(pages, offset))
        {
            try
            {
                var read = RandomAccess.Read(direct, pages, offset);
                if (read > 0)
                {
                    return read;
                }
            }
            catch (IOException)
            {
                // Refused past the cache (or a real error, which the read below meets again): read through it.
            }
        }
        var n = RandomAccess.Read(handle, span, offset);
        return n > 0 ? n : throw new IOException($"{path} ended at {offset} while being hashed");
    }

    private static Task<string> QemuImgAsync(CancellationToken ct, params string[] args) => Hosting.ExternalTool.RunAsync("qemu-img", args, ct);
}
