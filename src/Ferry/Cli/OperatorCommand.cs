using System.CommandLine;
using System.Text.Json;

namespace Ferry.Cli.Cli;

/// <summary>
/// What every operator verb shares: --server and --token (or FERRY_SERVER and FERRY_TOKEN), one
/// REST call, and one way of printing results and refusals.
/// </summary>
internal static class OperatorCommand
{
    public static readonly Option<string?> Server = new("--server") { Description = "Control plane URL (or FERRY_SERVER).", Recursive = true };
    public static readonly Option<string?> Token = new("--token") { Description = "Operator API token (or FERRY_TOKEN).", Recursive = true };
    public static readonly Option<bool> JsonOutput = new("--json") { Description = "Print the API's JSON.", Recursive = true };

    /// <summary>A verb that makes one request and prints the answer (a table for lists, JSON otherwise).</summary>
    public static Command Verb(string name, string description, Func<ParseResult, (HttpMethod Method, string Path, object? Body)> request,
        Action<JsonElement>? print = null, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var s in symbols)
        {
            switch (s)
            {
                case Option o:
                    command.Options.Add(o);
                    break;
                case Argument a:
                    command.Arguments.Add(a);
                    break;
            }
        }
        command.SetAction(async (parse, ct) =>
        {
            var server = parse.GetValue(Server) ?? Environment.GetEnvironmentVariable("FERRY_SERVER") ?? "http://127.0.0.1:8090";
            var token = parse.GetValue(Token) ?? Environment.GetEnvironmentVariable("FERRY_TOKEN");
            if (string.IsNullOrWhiteSpace(token))
            {
                Console.Error.WriteLine("error E_USAGE: no API token; pass --token or set FERRY_TOKEN (the token is in DATA_DIR/admin-token)");
                return 2;
            }
            try
            {
                using var client = new ApiClient(server, token.Trim());
                var (method, path, body) = request(parse);
                var result = await client.SendAsync(method, path, body, ct);
                if (result is { } json)
                {
                    if (print is not null && !parse.GetValue(JsonOutput))
                    {
                        print(json);
                    }
                    else
                    {
                        Console.WriteLine(JsonSerializer.Serialize(json, Json.Pretty));
                    }
                }
                return 0;
            }
            catch (ApiException e)
            {
                Console.Error.WriteLine($"error {e.Code}: {e.Message}");
                if (e.Hint is not null)
                {
                    Console.Error.WriteLine("  " + e.Hint);
                }
                return e.ExitCode;
            }
        });
        return command;
    }

    /// <summary>Prints an array of objects as aligned columns.</summary>
    public static Action<JsonElement> Table(params string[] columns) => json =>
    {
        var rows = json.EnumerateArray().Select(item => columns.Select(c => item.TryGetProperty(c, out var v) ? Text(v) : "").ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        Console.WriteLine(string.Join("  ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        }
    };

    private static string Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Null => "-",
        JsonValueKind.Array => string.Join(",", v.EnumerateArray().Select(Text)),
        _ => v.ToString(),
    };
}
