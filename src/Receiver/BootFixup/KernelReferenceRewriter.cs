using System.Text.RegularExpressions;

namespace Ferry.Receiver.BootFixup;

/// <summary>
/// Rewrites disk references where the boot loader and the kernel command line name filesystems:
/// <c>root=</c> and <c>resume=</c> parameters (grub.cfg, /etc/default/grub, BLS entries, grubenv)
/// and GRUB's <c>search --fs-uuid</c> / <c>--label</c> commands. Every other byte is kept. Idempotent.
/// </summary>
public static partial class KernelReferenceRewriter
{
    public static RewriteResult Rewrite(string text, DiskReferences references, string file)
    {
        var changes = new List<ConfigChange>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var before = lines[i];
            var reasons = new List<string>();
            var after = Parameter().Replace(before, m =>
            {
                var fix = references.Resolve(m.Groups["spec"].Value);
                if (fix is null)
                {
                    return m.Value;
                }
                reasons.Add(fix.Value.Reason);
                return m.Groups["key"].Value + fix.Value.Replacement;
            });
            after = Search().Replace(after, m =>
            {
                var prefix = m.Groups["kind"].Value == "label" ? "LABEL=" : "UUID=";
                var fix = references.Resolve(prefix + m.Groups["id"].Value);
                if (fix is null)
                {
                    return m.Value;
                }
                reasons.Add(fix.Value.Reason);
                return m.Groups["head"].Value + fix.Value.Replacement[prefix.Length..];
            });
            if (after != before)
            {
                changes.Add(new ConfigChange(file, i + 1, before, after, string.Join("; ", reasons.Distinct())));
                lines[i] = after;
            }
        }
        return new RewriteResult(string.Join('\n', lines), changes);
    }

    // root=/dev/sda1, root=UUID=…, resume=LABEL=… (the value ends at whitespace or a quote).
    [GeneratedRegex(@"(?<key>\b(?:root|resume)=)(?<spec>[^\s""']+)")]
    private static partial Regex Parameter();

    // search [--no-floppy] --fs-uuid [--set=root] [--hint…] ID, and the same with --label.
    [GeneratedRegex(@"(?<head>\bsearch\b(?:\s+--[^\s]+)*?\s+--(?<kind>fs-uuid|label)\b(?:\s+--[^\s]+)*\s+)(?<id>[0-9A-Za-z][0-9A-Za-z._-]*)")]
    private static partial Regex Search();
}
