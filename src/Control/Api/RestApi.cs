using Ferry.Control.Hosting;
using Ferry.Control.Model;
using Ferry.Transfer.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ferry.Control.Api;

/// <summary>The operator REST API under /api/v1 (bearer admin token), plus the unauthenticated install endpoints.</summary>
public static class RestApi
{
    /// <param name="fingerprint">The agent API certificate's SHA-256, which the activation command hands the agent to pin.</param>
    public static void Map(WebApplication app, ControlPlane plane, ControlPlaneOptions options, string fingerprint)
    {
        var api = app.MapGroup("/api/v1").AddEndpointFilter(new AdminTokenFilter(plane.Store));

        api.MapPost("/codes", (CreateCodeRequest r, HttpContext http) =>
        {
            var (code, secret) = plane.CreateCode(r.Quota ?? 200, r.Days ?? 90, r.Description);
            var server = options.PublicUrl ?? $"{http.Request.Scheme}://{http.Request.Host}";
            var command = $"curl -fsSL {server}/install.sh | sudo bash -s -- --code {code.Id}:{secret} --server-fingerprint {fingerprint}";
            return Results.Ok(new CreatedCode(code.Id, secret, code.Quota, code.ExpiresAt, command));
        });
        api.MapGet("/codes", () => plane.Store.ListCodes());
        api.MapGet("/errors", () => ErrorTable.All);
        api.MapPost("/codes/{id}/revoke", (string id) =>
        {
            plane.RevokeCode(id);
            return Results.NoContent();
        });

        api.MapPost("/accesskeys", (CreateAccessKeyRequest r) =>
        {
            var (key, secret) = plane.CreateAccessKey(r.Description);
            return Results.Ok(new CreatedAccessKey(key.Id, secret));
        });
        api.MapGet("/accesskeys", () => plane.Store.ListAccessKeys());
        api.MapDelete("/accesskeys/{id}", (string id) =>
        {
            plane.DeleteAccessKey(id);
            return Results.NoContent();
        });

        api.MapGet("/sources", () => plane.Store.ListSources().Select(SourceView.Of));
        api.MapGet("/sources/{id}", (string id) => SourceView.Of(plane.GetSource(id)));
        api.MapDelete("/sources/{id}", (string id) =>
        {
            plane.Store.DeleteSource(id);
            return Results.NoContent();
        });

        api.MapPost("/jobs", (CreateJobRequest r) =>
            plane.CreateJob(r.SourceId ?? "", new JobSettings(r.Disks ?? [], r.Compression ?? 7, r.BandwidthMbit ?? 0, r.Checksum ?? true,
                r.ImageFormat ?? Transfer.ImageFormat.Default, r.Mode ?? "block", r.Layout?.GetRawText(), r.Encryption ?? "auto", r.Incremental ?? false,
                r.EverySeconds ?? 3600, r.Keep ?? 3)));
        api.MapGet("/jobs", (string? source) => plane.Store.ListJobs(source));
        api.MapGet("/jobs/{id}", (string id) => plane.GetJob(id));
        api.MapPost("/jobs/{id}/{verb}", (string id, string verb, ModifyJobRequest? r) =>
        {
            var current = plane.GetJob(id).Settings;
            var modified = r is null ? null : current with
            {
                Compression = r.Compression ?? current.Compression,
                BandwidthMbit = r.BandwidthMbit ?? current.BandwidthMbit,
                Checksum = r.Checksum ?? current.Checksum,
            };
            return plane.Act(id, verb, modified);
        });

        app.MapGet("/install.sh", (HttpContext http) =>
        {
            var server = options.PublicUrl ?? $"{http.Request.Scheme}://{http.Request.Host}";
            return Results.Text(InstallScript.Render(server), "text/x-shellscript");
        });
        app.MapGet("/download/" + InstallScript.PackageName, () =>
            options.PackagePath is { } path && File.Exists(path)
                ? Results.File(path, "application/gzip", InstallScript.PackageName)
                : Results.Json(new ApiError(ErrorCodes.Name(ErrorCode.NotFound), "this control plane was started without an agent package",
                    "Build it with `make package`, or start ferry serve with --package."), statusCode: 404));
    }

    /// <summary>Maps a refused request to its HTTP status; the body carries the stable code.</summary>
    public static int StatusFor(ErrorCode code) => code switch
    {
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.InvalidRequest or ErrorCode.Usage => StatusCodes.Status400BadRequest,
        ErrorCode.InvalidState or ErrorCode.JobConflict => StatusCodes.Status409Conflict,
        ErrorCode.AuthFailed or ErrorCode.AccessKeyInvalid or ErrorCode.ClockSkew => StatusCodes.Status401Unauthorized,
        ErrorCode.CodeUnknown or ErrorCode.CodeRevoked or ErrorCode.CodeExpired or ErrorCode.CodeExhausted => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status500InternalServerError,
    };

    private sealed class AdminTokenFilter(Store.IControlStore store) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var token = Transfer.Control.ControlMetadata.BearerToken(context.HttpContext.Request.Headers.Authorization.ToString());
            var hash = store.GetSetting(ControlPlaneHost.AdminTokenSetting);
            if (token is null || hash is null || !Security.Secrets.Matches(token, hash))
            {
                return Results.Json(new ApiError(ErrorCodes.Name(ErrorCode.AuthFailed), "the API token is missing or wrong",
                    "Pass the token from DATA_DIR/admin-token with --token or FERRY_TOKEN."), statusCode: StatusCodes.Status401Unauthorized);
            }
            return await next(context);
        }
    }
}
