using System.Text;
using System.Text.RegularExpressions;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// Rewrites the first field of /etc/fstab entries that would not resolve on the new machine (see
/// <see cref="DiskReferences"/>), keeping everything else byte for byte: comments, spacing, options,
/// and entries that are not references Ferry changes (LVM paths, network shares, pseudo filesystems,
/// swap files). Idempotent: rewriting the result changes nothing.
/// </summary>
public static partial class FstabRewriter
{
    public static RewriteResult Rewrite(string text, DiskReferences references, string file = "/etc/fstab")
    {
        var changes = new List<ConfigChange>();
        var output = new StringBuilder(text.Length);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var m = FirstField().Match(line);
            if (m.Success && !m.Groups["spec"].Value.StartsWith('#') && references.Resolve(m.Groups["spec"].Value) is { } fix)
            {
                var rewritten = m.Groups["lead"].Value + fix.Replacement + line[(m.Groups["spec"].Index + m.Groups["spec"].Length)..];
                changes.Add(new ConfigChange(file, i + 1, line, rewritten, fix.Reason));
                line = rewritten;
            }
            output.Append(line);
            if (i < lines.Length - 1)
            {
                output.Append('\n');
            }
        }
        return new RewriteResult(output.ToString(), changes);
    }

    [GeneratedRegex(@"^(?<lead>\s*)(?<spec>\S+)(?=\s)")]
    private static partial Regex FirstField();
}
