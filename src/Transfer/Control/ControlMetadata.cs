namespace Ferry.Transfer.Control;

/// <summary>gRPC metadata shared by both ends of the control channel.</summary>
public static class ControlMetadata
{
    /// <summary>Request header carrying "Bearer TOKEN".</summary>
    public const string Authorization = "authorization";

    /// <summary>Response trailer carrying the stable error code of a failed call.</summary>
    public const string ErrorCode = "ferry-error-code";

    /// <summary>Names sent by the agent (source host, disk) become file names on the receiver: keep them plain.</summary>
    public static bool IsSafeName(string? name) =>
        name is { Length: > 0 and <= 64 } && name != "." && name != ".."
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
