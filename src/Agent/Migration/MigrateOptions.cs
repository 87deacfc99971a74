namespace Ferry.Agent.Migration;

/// <summary>A client-only migration (block or file), as given on the command line.</summary>
public sealed record MigrateOptions
{
    public required string Receiver { get; init; }

    public int ControlPort { get; init; } = 8080;

    public int DataPort { get; init; } = 8703;

    public required string Token { get; init; }

    /// <summary>The receiver's certificate fingerprint: its control channel (always TLS) and TLS data connections accept no other.</summary>
    public required Transfer.Control.CertificatePin ReceiverPin { get; init; }

    /// <summary>Data channel encryption: Auto is TLS unless the receiver is this machine (loopback).</summary>
    public Transfer.Control.TransportSecurity Tls { get; init; }

    /// <summary>Whether the data connections use TLS, as <see cref="Tls"/> decides for this receiver.</summary>
    public bool EncryptData => Tls switch
    {
        Transfer.Control.TransportSecurity.On => true,
        Transfer.Control.TransportSecurity.Off => false,
        _ => !(Receiver == "localhost" || (System.Net.IPAddress.TryParse(Receiver, out var ip) && System.Net.IPAddress.IsLoopback(ip))),
    };

    /// <summary>Block replication: the whole disks to copy.</summary>
    public IReadOnlyList<string> Disks { get; init; } = [];

    /// <summary>"block" (whole disks, --disk) or "file" (file trees into a new layout, --layout).</summary>
    public string Mode { get; init; } = "block";

    /// <summary>File replication: the layout document (LAYOUT.json, or a control-plane job's).</summary>
    public LayoutDocument? Layout { get; init; }

    /// <summary>File replication: where the source's "/" is on this machine ("/" but for a chroot or test rig).</summary>
    public string SourceRoot { get; init; } = "/";

    /// <summary>File replication: excludes given for this run, added to the default list and the layout's.</summary>
    public IReadOnlyList<string> Excludes { get; init; } = [];

    public int Compression { get; init; } = Transfer.Lz4Codec.DefaultLevel;

    /// <summary>Wire limit in Mbit/s; 0 for none.</summary>
    public double BandwidthMbit { get; init; }

    public bool Checksum { get; init; }

    /// <summary>How the receiver stores the images: raw, qcow2 (default), vmdk or vhdx.</summary>
    public string ImageFormat { get; init; } = Transfer.ImageFormat.Default;

    public bool JsonProgress { get; init; }

    public int Streams { get; init; } = 2;

    /// <summary>
    /// MiB a data connection sends between two durable checkpoints (a Flush the receiver acknowledges
    /// after fsync): at most what an interruption costs per connection, at the price of one fsync each.
    /// </summary>
    public int CheckpointMib { get; init; } = 16;

    /// <summary>
    /// Block mode: make filesystems mounted read-write consistent by a convergent copy whose last pass
    /// runs with them frozen (FIFREEZE); false copies them live (the copy may be torn).
    /// </summary>
    public bool Freeze { get; init; } = true;

    /// <summary>The longest the filesystems may stay frozen; a last pass that would take longer is abandoned (thawed) and tried again.</summary>
    public TimeSpan FreezeBound { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A shell command run while the filesystems are frozen, after the last pass is durable (its time counts against the bound).</summary>
    public string? FrozenHook { get; init; }

    /// <summary>How long the agent keeps connecting again to a lost receiver without any progress before the run fails.</summary>
    public TimeSpan ReconnectFor { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Block mode: an incremental job. Each cycle sends only the 4 KiB regions whose hash differs from
    /// the receiver's digest of its working image (the first cycle sends everything), and the receiver
    /// stores every cycle as an image of its own, keeping the last <see cref="Keep"/>.
    /// </summary>
    public bool Incremental { get; init; }

    /// <summary>Incremental: the time from the start of one cycle to the start of the next.</summary>
    public TimeSpan Every { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Incremental: how many cycles' images the receiver keeps (1-100).</summary>
    public int Keep { get; init; } = 3;

    /// <summary>Incremental, client-only: stop after this many cycles (0: until interrupted).</summary>
    public int Cycles { get; init; }

    /// <summary>Incremental, client-only: the last of the <see cref="Cycles"/> is the cut-over, which ends the job.</summary>
    public bool Cutover { get; init; }

    /// <summary>Incremental: this cycle is the cut-over: the receiver removes the working images after storing it.</summary>
    public bool FinalCycle { get; init; }

    /// <summary>Name the receiver files the images under; the host name by default.</summary>
    public string? SourceName { get; init; }
}
