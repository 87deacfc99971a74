namespace Ferry.Transfer.Errors;

/// <summary>
/// The peer broke the wire protocol (a malformed or oversize frame, a frame out of place).
/// The connection it came on cannot be trusted and is closed; the session may reconnect.
/// </summary>
public sealed class ProtocolException : FerryException
{
    public ProtocolException(string message)
        : base(ErrorCode.Protocol, message, "Check that agent and receiver are the same Ferry version.")
    {
    }

    public ProtocolException()
        : this("protocol error")
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(ErrorCode.Protocol, message, null, innerException)
    {
    }
}
