namespace Ferry.Disks.Partitions;

public enum PartitionScheme
{
    /// <summary>No partition table: the whole disk is one filesystem or unknown data.</summary>
    None,
    Mbr,
    Gpt,
}
