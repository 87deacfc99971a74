namespace Ferry.Agent.Migration;

/// <summary>A partition in a layout document.</summary>
public sealed class LayoutDocumentPartition
{
    /// <summary>Where the source mounts the filesystem that goes here ("/", "/data"); none for swap.</summary>
    public string? MountPoint { get; set; }

    /// <summary>"8GiB", "512M", bytes, or "0"/left out for the rest of the disk (last partition only).</summary>
    public string? Size { get; set; }

    /// <summary>ext4, xfs, vfat or swap; the source's type when left out (types other than these become ext4).</summary>
    public string? Filesystem { get; set; }

    /// <summary>"file" (the default and, for now, the only mode in a layout).</summary>
    public string Mode { get; set; } = "file";

    /// <summary>Excludes for this mount point only (paths as the source sees them).</summary>
    public List<string> Excludes { get; set; } = [];
}
