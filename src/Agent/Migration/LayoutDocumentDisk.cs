namespace Ferry.Agent.Migration;

/// <summary>A target disk in a layout document.</summary>
public sealed class LayoutDocumentDisk
{
    /// <summary>The image's name ("vda"): letters, digits, '.', '_' and '-'.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>"20GiB", "512M", or bytes.</summary>
    public string Size { get; set; } = string.Empty;

    /// <summary>"gpt" (default) or "mbr".</summary>
    public string PartitionTable { get; set; } = "gpt";

    public List<LayoutDocumentPartition> Partitions { get; set; } = [];
}
