using Ferry.Control.Model;
using Ferry.Control.Store;
using Ferry.Transfer.Control;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Grpc.Core;

namespace Ferry.Control.Api;

/// <summary>The agent API (gRPC): registration, heartbeats, the job stream and job reports.</summary>
public sealed class AgentApiService(ControlPlane plane) : AgentControl.AgentControlBase
{
    public const string RegisterPath = "/ferry.control.v1.AgentControl/Register";

    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context) => Guard(() =>
    {
        if (request.Identity.Length is < 16 or > 128 || request.Hostname.Length is 0 or > 255 || request.InventoryJson.Length > 4 << 20)
        {
            throw new ControlException(ErrorCode.InvalidRequest, "the registration is malformed (identity, host name or inventory)");
        }
        var registration = new Registration(request.Identity, request.Hostname, request.AgentVersion, request.InventoryJson);
        (SourceServer Source, string Token) result;
        if (request.CodeId.Length > 0)
        {
            result = plane.RegisterWithCode(request.CodeId, request.CodeSecret, registration);
        }
        else
        {
            var keyId = context.RequestHeaders.GetValue(RequestSignature.KeyIdHeader);
            var timestamp = context.RequestHeaders.GetValue(RequestSignature.TimestampHeader);
            var signature = context.RequestHeaders.GetValue(RequestSignature.SignatureHeader);
            if (keyId is null || signature is null || !long.TryParse(timestamp, out var unix))
            {
                throw new ControlException(ErrorCode.AuthFailed, "registration needs an activation code or a signed AccessKey");
            }
            result = plane.RegisterWithAccessKey(keyId, unix, signature, "POST", RegisterPath, request.ToByteArray(), registration);
        }
        return Task.FromResult(new RegisterReply
        {
            SourceId = result.Source.Id,
            AgentToken = result.Token,
            HeartbeatSeconds = (uint)plane.HeartbeatInterval.TotalSeconds,
        });
    });

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) => Guard(() =>
    {
        var source = plane.AuthenticateAgent(BearerToken(context));
        var updated = plane.Store.Heartbeat(source.Id, request.CpuPercent, (long)request.MemoryUsedBytes, request.AgentVersion, DateTimeOffset.UtcNow);
        return Task.FromResult(new HeartbeatReply { SourceState = updated.State.ToString() });
    });

    public override async Task WatchJobs(WatchJobsRequest request, IServerStreamWriter<JobAssignment> responseStream, ServerCallContext context)
    {
        var source = await Guard(() => Task.FromResult(plane.AuthenticateAgent(BearerToken(context))));
        var changes = plane.Dispatcher.Watch(source.Id);
        try
        {
            var current = plane.Store.ListJobs(source.Id).LastOrDefault(j => j.IsUnfinished);
            if (current is not null)
            {
                await responseStream.WriteAsync(plane.Assignment(current), context.CancellationToken);
            }
            await foreach (var jobId in changes.Reader.ReadAllAsync(context.CancellationToken))
            {
                if (plane.Store.GetJob(jobId) is { } job)
                {
                    await responseStream.WriteAsync(plane.Assignment(job), context.CancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The agent went away; it reconnects and gets the current job again.
        }
        finally
        {
            plane.Dispatcher.Unwatch(source.Id, changes);
        }
    }

    public override Task<JobReportReply> ReportJob(JobReport request, ServerCallContext context) => Guard(() =>
    {
        var source = plane.AuthenticateAgent(BearerToken(context));
        plane.Report(source, request);
        return Task.FromResult(new JobReportReply());
    });

    private static string? BearerToken(ServerCallContext context) =>
        ControlMetadata.BearerToken(context.RequestHeaders.GetValue(ControlMetadata.Authorization));

    /// <summary>Turns a refusal into a gRPC status with the stable code in a trailer, as the receiver does.</summary>
    private static async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (ControlException e)
        {
            var status = e.Code switch
            {
                ErrorCode.AuthFailed or ErrorCode.AccessKeyInvalid or ErrorCode.ClockSkew => StatusCode.Unauthenticated,
                ErrorCode.CodeUnknown or ErrorCode.CodeRevoked or ErrorCode.CodeExpired or ErrorCode.CodeExhausted => StatusCode.PermissionDenied,
                ErrorCode.NotFound => StatusCode.NotFound,
                ErrorCode.InvalidState or ErrorCode.JobConflict => StatusCode.FailedPrecondition,
                _ => StatusCode.InvalidArgument,
            };
            throw ControlMetadata.Refusal(e.Code, status, e.Message, e.Hint);
        }
    }
}
