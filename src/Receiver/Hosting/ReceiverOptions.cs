using System.Net;

namespace Ferry.Receiver.Hosting;

/// <summary>How a receiver listens and where it writes.</summary>
public sealed record ReceiverOptions
{
    public const int DefaultControlPort = 8080;
    public const int DefaultDataPort = 8703;

    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>gRPC control channel; 0 picks a free port (tests).</summary>
    public int ControlPort { get; init; } = DefaultControlPort;

    /// <summary>Framed data channel; 0 picks a free port (tests).</summary>
    public int DataPort { get; init; } = DefaultDataPort;

    public required string OutputDirectory { get; init; }

    /// <summary>The session token's SHA-256; the token itself is not kept.</summary>
    public required TokenCheck Token { get; init; }

    /// <summary>Free space kept back on the output filesystem beyond what a session plans to write.</summary>
    public long SpaceReserveBytes { get; init; } = 64L << 20;

    /// <summary>The receiver's TLS key and certificate (PKCS#12), made at first start; default OUT/.ferry-receiver.pfx.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>How long a new data connection may take to introduce itself before it is closed.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
