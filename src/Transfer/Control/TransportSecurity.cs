namespace Ferry.Transfer.Control;

/// <summary>
/// Whether a job's data channel is encrypted. <see cref="Auto"/>: TLS unless agent and receiver
/// are on one machine (loopback), or the job declares its network private. The control channel,
/// which carries the token, always uses TLS.
/// </summary>
public enum TransportSecurity
{
    Auto,
    On,
    Off,
}
