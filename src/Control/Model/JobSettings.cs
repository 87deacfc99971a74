namespace Ferry.Control.Model;

/// <summary>What a job copies and how; compression, bandwidth and checksum can be modified while it runs.</summary>
/// <param name="Disks">Block mode: source disks to copy (device paths as in the inventory); empty means every disk.</param>
/// <param name="Mode">"block" (whole disks) or "file" (file trees into <paramref name="Layout"/>).</param>
/// <param name="Layout">File mode: the layout document (JSON, as the agent's --layout takes it).</param>
/// <param name="Encryption">Data channel TLS: auto (on unless agent and receiver share a machine), on, or off (a private network).</param>
/// <param name="Incremental">Block mode: cycles every <paramref name="EverySeconds"/> (the first a full copy, later ones what changed) until cut-over.</param>
/// <param name="Keep">Incremental: how many cycles' images the receiver keeps.</param>
public sealed record JobSettings(
    IReadOnlyList<string> Disks,
    int Compression = 7,
    double BandwidthMbit = 0,
    bool Checksum = true,
    string ImageFormat = Transfer.ImageFormat.Default,
    string Mode = "block",
    string? Layout = null,
    string Encryption = "auto",
    bool Incremental = false,
    long EverySeconds = 3600,
    int Keep = 3);
