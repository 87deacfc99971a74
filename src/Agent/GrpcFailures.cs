using System.Net.Sockets;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Grpc.Core;

namespace Ferry.Agent;

/// <summary>Turns gRPC failures (receiver or control plane) into errors with Ferry's stable codes.</summary>
internal static class GrpcFailures
{
    /// <summary>Runs a call; a refusal carries the peer's code, a transport failure says the peer could not be reached.</summary>
    public static async Task<T> CallAsync<T>(Func<Task<T>> call, string peer, string address, ErrorCode unreachable, string unreachableHint)
    {
        try
        {
            return await call();
        }
        catch (RpcException e)
        {
            if (e.Trailers.GetValue(ControlMetadata.ErrorCode) is { } named)
            {
                var code = ErrorCodes.Parse(named);
                throw new FerryException(code, e.Status.Detail, e.Trailers.GetValue(ControlMetadata.ErrorHint) ?? HintFor(code), e);
            }
            if (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                throw new FerryException(unreachable, $"cannot reach the {peer} at {address}: {e.Status.Detail}", unreachableHint, e);
            }
            if (e.StatusCode == StatusCode.Unauthenticated)
            {
                throw new FerryException(ErrorCode.AuthFailed, e.Status.Detail, HintFor(ErrorCode.AuthFailed), e);
            }
            throw new FerryException(ErrorCode.NotFerry, $"the {peer} at {address} answered {e.StatusCode}: {e.Status.Detail}",
                "Check the address: it does not look like Ferry, or runs another version.", e);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException)
        {
            throw new FerryException(unreachable, $"cannot reach the {peer} at {address}: {e.Message}", unreachableHint, e);
        }
    }

    private static string? HintFor(ErrorCode code) => code switch
    {
        ErrorCode.AuthFailed => "Use the token the receiver was started with (ferry receiver --token).",
        ErrorCode.TargetTooSmall => "Free space on the receiver, or point it at a larger --out directory or disk.",
        _ => null,
    };
}
