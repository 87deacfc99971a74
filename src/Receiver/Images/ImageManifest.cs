namespace Ferry.Receiver.Images;

/// <summary>manifest.json beside a source's images: what was stored, and the hashes to check it by.</summary>
public sealed record ImageManifest(string Source, DateTimeOffset CreatedAt, IReadOnlyList<ImageManifest.Disk> Disks)
{
    /// <param name="SizeBytes">The virtual disk size; <paramref name="FileBytes"/> is what the image file takes.</param>
    public sealed record Disk(uint Index, string Name, string Format, string Path, long SizeBytes, long FileBytes, string Sha256);
}
