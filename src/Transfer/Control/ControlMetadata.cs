using Ferry.Transfer.Errors;
using Grpc.Core;

namespace Ferry.Transfer.Control;

/// <summary>gRPC metadata shared by both ends of the control channels (receiver and control plane).</summary>
public static class ControlMetadata
{
    /// <summary>Request header carrying "Bearer TOKEN".</summary>
    public const string Authorization = "authorization";

    /// <summary>Response trailer carrying the stable error code of a failed call.</summary>
    public const string ErrorCode = "ferry-error-code";

    /// <summary>Response trailer carrying the sentence that says what to do, when there is one.</summary>
    public const string ErrorHint = "ferry-error-hint";

    private const string BearerPrefix = "Bearer ";

    /// <summary>The value of an authorization header for <paramref name="token"/>.</summary>
    public static string Bearer(string token) => BearerPrefix + token;

    /// <summary>The token of a "Bearer TOKEN" header, or null when the header is missing or of another scheme.</summary>
    public static string? BearerToken(string? header) =>
        header is not null && header.StartsWith(BearerPrefix, StringComparison.Ordinal) ? header[BearerPrefix.Length..] : null;

    /// <summary>A refused call: the status for gRPC, and the stable code (and hint) in trailers for Ferry's clients.</summary>
    public static RpcException Refusal(Errors.ErrorCode code, StatusCode status, string message, string? hint = null)
    {
        var trailers = new Metadata { { ErrorCode, ErrorCodes.Name(code) } };
        if (hint is not null)
        {
            trailers.Add(ErrorHint, hint);
        }
        return new RpcException(new Status(status, message), trailers);
    }

    /// <summary>Names sent by the agent (source host, disk) become file names on the receiver: keep them plain.</summary>
    public static bool IsSafeName(string? name) =>
        name is { Length: > 0 and <= 64 } && name != "." && name != ".."
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
