namespace Ferry.Control.Hosting;

/// <summary>
/// The receiver jobs are sent to, and how to let a job's token in. An empty host means "the
/// control plane's own host" (the embedded receiver of <c>ferry serve --with-receiver</c>).
/// <paramref name="Fingerprint"/> is its certificate's SHA-256, which agents pin.
/// </summary>
public sealed record ReceiverLink(string Host, int ControlPort, int DataPort, string Fingerprint,
    Action<string, Transfer.Control.TransportSecurity> AllowToken, Action<string> RevokeToken);
