using System.Globalization;
using Ferry.Receiver.BootFixup;
using Microsoft.Extensions.Logging;

namespace Ferry.Receiver.Images;

/// <summary>
/// Where an incremental job's images live under the source's output directory: the working images
/// and their digests in <c>incremental/</c> (written by every cycle, never booted), and one
/// <c>cycle-NNNNNN/</c> directory per finished cycle, a copy made bootable and stored in the job's
/// format. A cycle counts once its <c>manifest.json</c> is written; only then do the oldest go, so
/// the last K good images are there at every moment.
/// </summary>
public static class CycleStore
{
    private const string Prefix = "cycle-";

    public static string WorkDirectory(string sourceDirectory) => Path.Combine(sourceDirectory, "incremental");

    /// <summary>Removes the working images and digests of a source's incremental job (cancelled, or cut over); the cycles' images stay.</summary>
    public static void DiscardWork(string sourceDirectory)
    {
        if (Directory.Exists(WorkDirectory(sourceDirectory)))
        {
            Directory.Delete(WorkDirectory(sourceDirectory), recursive: true);
        }
    }

    /// <summary>The finished cycles, oldest first.</summary>
    public static List<(int Number, string Directory)> Finished(string sourceDirectory) =>
        All(sourceDirectory).Where(c => File.Exists(Path.Combine(c.Directory, "manifest.json"))).ToList();

    /// <summary>The number the next cycle gets: one more than any cycle begun.</summary>
    public static int Next(string sourceDirectory) => All(sourceDirectory).Select(c => c.Number).DefaultIfEmpty(0).Max() + 1;

    /// <summary>
    /// Copies the working images (sparse, sharing extents where the filesystem can), makes the copies
    /// bootable, stores them in <paramref name="format"/>, then removes the cycles beyond the newest
    /// <paramref name="keep"/> and any cycle that never finished. Returns the manifest and how many were removed.
    /// </summary>
    public static async Task<(ImageManifest Manifest, int Pruned, string Timings)> StoreAsync(string source, string sourceDirectory, int cycle, int keep, string format,
        IReadOnlyList<(uint Index, string Name, string WorkPath)> disks, ILogger log, CancellationToken ct)
    {
        var directory = DirectoryOf(sourceDirectory, cycle);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
        Directory.CreateDirectory(directory);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var copies = new List<(uint Index, string Name, string RawPath)>();
        foreach (var (index, name, work) in disks)
        {
            var copy = Path.Combine(directory, name + ".raw");
            await Hosting.ExternalTool.RunAsync("cp", ["--sparse=always", "--reflink=auto", "--", work, copy], ct);
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            copies.Add((index, name, copy));
        }
        var copied = clock.Elapsed;
        await BlockTargetBoot.RunAsync(copies.Select(c => (c.Name, c.RawPath)).ToList(), Path.Combine(sourceDirectory, ".fixup"), log, ct);
        var fixedUp = clock.Elapsed;
        var manifest = await ImageStore.StoreAsync(source, format, copies, ct);
        var timings = string.Create(CultureInfo.InvariantCulture,
            $"copied in {copied.TotalSeconds:0.0} s, boot fix-up {(fixedUp - copied).TotalSeconds:0.0} s, stored and hashed in {(clock.Elapsed - fixedUp).TotalSeconds:0.0} s");
        var pruned = Prune(sourceDirectory, cycle, keep);
        return (manifest, pruned, timings);
    }

    /// <summary>Where cycle <paramref name="cycle"/>'s images are stored.</summary>
    public static string DirectoryOf(string sourceDirectory, int cycle) => Path.Combine(sourceDirectory, Prefix + cycle.ToString("D6", CultureInfo.InvariantCulture));

    /// <summary>
    /// Once cycle <paramref name="cycle"/> is stored: removes the finished cycles beyond the newest
    /// <paramref name="keep"/>, and any other cycle that never finished. Returns how many went.
    /// </summary>
    public static int Prune(string sourceDirectory, int cycle, int keep)
    {
        var pruned = 0;
        var finished = Finished(sourceDirectory);
        foreach (var (number, old) in All(sourceDirectory))
        {
            var stale = number != cycle && !finished.Any(f => f.Number == number);
            if (stale || finished.Count(f => f.Number > number) >= keep)
            {
                Directory.Delete(old, recursive: true);
                pruned++;
            }
        }
        return pruned;
    }

    private static IEnumerable<(int Number, string Directory)> All(string sourceDirectory) =>
        !Directory.Exists(sourceDirectory) ? [] :
        Directory.EnumerateDirectories(sourceDirectory, Prefix + "*")
            .Select(d => (Ok: int.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n), Number: n, Directory: d))
            .Where(c => c.Ok)
            .OrderBy(c => c.Number)
            .Select(c => (c.Number, c.Directory));
}
