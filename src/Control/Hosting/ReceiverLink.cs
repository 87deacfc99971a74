namespace Ferry.Control.Hosting;

/// <summary>
/// The receiver jobs are sent to, and how to let a job's token in. An empty host means "the
/// control plane's own host" (the embedded receiver of <c>ferry serve --with-receiver</c>).
/// <paramref name="Fingerprint"/> is its certificate's SHA-256, which agents pin.
/// <paramref name="DiscardWork"/>, where the receiver is embedded: removes a source's working images
/// (an incremental job cancelled between cycles, when no agent session is there to abort).
/// </summary>
public sealed record ReceiverLink(string Host, int ControlPort, int DataPort, string Fingerprint,
    Action<string, Transfer.Control.TransportSecurity> AllowToken, Action<string> RevokeToken, Action<string>? DiscardWork = null);
