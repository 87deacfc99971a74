using System.Text.RegularExpressions;

namespace Ferry.Control.Api;

/// <summary>
/// The table of stable error codes, as the README documents them (its "Error codes" section is
/// embedded in this assembly): one list, read by people there and by programs at GET /api/v1/errors.
/// </summary>
public static partial class ErrorTable
{
    private static readonly Lazy<IReadOnlyList<ErrorCodeInfo>> Rows = new(Load);

    public static IReadOnlyList<ErrorCodeInfo> All => Rows.Value;

    private static List<ErrorCodeInfo> Load()
    {
        using var stream = typeof(ErrorTable).Assembly.GetManifestResourceStream("README.md")
            ?? throw new InvalidOperationException("the README is not embedded in Ferry.Control");
        var text = new StreamReader(stream).ReadToEnd();
        var start = text.IndexOf("\n## Error codes", StringComparison.Ordinal);
        var section = start < 0 ? "" : text[start..];
        var end = section.IndexOf("\n## ", 4, StringComparison.Ordinal);
        return Row().Matches(end < 0 ? section : section[..end])
            .Select(m => new ErrorCodeInfo(m.Groups["code"].Value, m.Groups["exit"].Value is var e && int.TryParse(e, out var exit) ? exit : null, m.Groups["meaning"].Value.Trim()))
            .ToList();
    }

    [GeneratedRegex(@"^\| `(?<code>E_[A-Z_]+)` \| (?<exit>[^|]+?) \| (?<meaning>.+) \|$", RegexOptions.Multiline)]
    private static partial Regex Row();
}
