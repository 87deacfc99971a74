using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Transfer.Errors;

namespace Ferry.Cli.Cli;

/// <summary>The operator CLI's client of the REST API; a refusal becomes an <see cref="ApiException"/> with the stable code.</summary>
internal sealed class ApiClient(string server, string token) : IDisposable
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = new Uri(server.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
    };

    public async Task<JsonElement?> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json.Options);
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(ErrorCodes.Name(ErrorCode.ControlUnreachable), $"cannot reach the control plane at {server}: {e.Message}",
                "Check --server (or FERRY_SERVER) and that `ferry serve` runs there.", 5);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            JsonElement? json = null;
            try
            {
                json = text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new ApiException(ErrorCodes.Name(ErrorCode.NotFerry), $"{server} answered {(int)response.StatusCode} with something that is not Ferry's API", "Check --server.", 9);
            }
            if (!response.IsSuccessStatusCode)
            {
                var code = json?.TryGetProperty("code", out var c) == true ? c.GetString() ?? ErrorCodes.Name(ErrorCode.Internal) : ErrorCodes.Name(ErrorCode.NotFerry);
                var message = json?.TryGetProperty("message", out var m) == true ? m.GetString() ?? "" : $"HTTP {(int)response.StatusCode}";
                var hint = json?.TryGetProperty("hint", out var h) == true ? h.GetString() : null;
                throw new ApiException(code, message, hint, code == ErrorCodes.Name(ErrorCode.AuthFailed) ? 6 : 1);
            }
            return json;
        }
    }

    public void Dispose() => _http.Dispose();
}
