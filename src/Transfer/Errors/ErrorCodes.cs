using System.Text;

namespace Ferry.Transfer.Errors;

/// <summary>The printed form of <see cref="ErrorCode"/>: E_ followed by the name in upper snake case.</summary>
public static class ErrorCodes
{
    private static readonly Dictionary<ErrorCode, string> Names = Enum.GetValues<ErrorCode>().ToDictionary(c => c, ToName);
    private static readonly Dictionary<string, ErrorCode> ByName = Names.ToDictionary(kv => kv.Value, kv => kv.Key);

    public static string Name(ErrorCode code) => Names[code];

    public static ErrorCode Parse(string? name) =>
        name is not null && ByName.TryGetValue(name, out var code) ? code : ErrorCode.Internal;

    private static string ToName(ErrorCode code)
    {
        var text = code.ToString();
        var sb = new StringBuilder("E_");
        for (var i = 0; i < text.Length; i++)
        {
            if (i > 0 && char.IsUpper(text[i]))
            {
                sb.Append('_');
            }
            sb.Append(char.ToUpperInvariant(text[i]));
        }
        return sb.ToString();
    }
}
