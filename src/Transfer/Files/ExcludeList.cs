using System.Text;
using System.Text.RegularExpressions;

namespace Ferry.Transfer.Files;

/// <summary>
/// Paths left out of a file replication, in the syntax of <c>Excludes/rsync_excludes_linux.txt</c>
/// (a subset of rsync's exclude patterns, documented in the README):
/// one pattern per line; blank lines and lines starting with '#' are ignored;
/// a leading '/' anchors the pattern at the source's root, otherwise it matches the end of a path at
/// any depth (<c>lost+found/*</c> matches <c>/lost+found/x</c> and <c>/data/lost+found/x</c>);
/// <c>*</c> matches within one component, <c>**</c> across components, <c>?</c> one character;
/// a trailing '/' matches directories only. An excluded directory is skipped with all it holds;
/// <c>/mnt/*</c> keeps <c>/mnt</c> itself and leaves out what is in it.
/// </summary>
public sealed class ExcludeList
{
    /// <summary>The default list, as shipped in Excludes/rsync_excludes_linux.txt.</summary>
    public static readonly IReadOnlyList<string> Defaults = ["/dev/*", "/sys/*", "/proc/*", "/media/*", "lost+found/*", "/mnt/*", "/var/lib/lxcfs/*"];

    private readonly List<(Regex Pattern, bool DirectoryOnly, string Text)> _patterns = [];

    public static readonly ExcludeList Empty = new([]);

    public ExcludeList(IEnumerable<string> patterns)
    {
        foreach (var raw in patterns)
        {
            var text = raw.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }
            var directoryOnly = text.Length > 1 && text.EndsWith('/');
            var body = directoryOnly ? text[..^1] : text;
            var anchored = body.StartsWith('/');
            var regex = (anchored ? "^" : "(?:^|/)") + Translate(anchored ? body : body.TrimStart('/')) + "$";
            _patterns.Add((new Regex(regex, RegexOptions.CultureInvariant | RegexOptions.Singleline), directoryOnly, text));
        }
    }

    public int Count => _patterns.Count;

    /// <summary>Reads a list file; a missing file gives the defaults.</summary>
    public static ExcludeList Load(string path) =>
        File.Exists(path) ? new ExcludeList(File.ReadAllLines(path)) : new ExcludeList(Defaults);

    public ExcludeList With(IEnumerable<string> more) => new(_patterns.Select(p => p.Text).Concat(more));

    /// <param name="path">The path as seen on the source, from its root: "/var/log/x".</param>
    public bool IsExcluded(string path, bool isDirectory)
    {
        foreach (var (pattern, directoryOnly, _) in _patterns)
        {
            if ((!directoryOnly || isDirectory) && pattern.IsMatch(path))
            {
                return true;
            }
        }
        return false;
    }

    private static string Translate(string glob)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }
        return sb.ToString();
    }
}
