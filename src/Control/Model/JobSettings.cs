namespace Ferry.Control.Model;

/// <summary>What a job copies and how; compression, bandwidth and checksum can be modified while it runs.</summary>
/// <param name="Disks">Source disks to copy (device paths as in the inventory); empty means every disk.</param>
public sealed record JobSettings(
    IReadOnlyList<string> Disks,
    int Compression = 7,
    double BandwidthMbit = 0,
    bool Checksum = true,
    string ImageFormat = Transfer.ImageFormat.Default);
