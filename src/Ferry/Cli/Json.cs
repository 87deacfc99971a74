using System.Text.Json;

namespace Ferry.Cli.Cli;

internal static class Json
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };
}
