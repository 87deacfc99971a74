using Xunit;

namespace Ferry.Tests.Integration;

/// <summary>
/// Looks for secrets where they must never be: every file under the given roots (logs, state,
/// databases) and a process's command line and environment. The files meant to hold a secret
/// (client_data, admin-token, keys) are checked for what they must be instead: 0600, owned by root.
/// </summary>
internal static class SecretScan
{
    public static void AssertNowhere(IReadOnlyDictionary<string, string> secrets, IEnumerable<string> roots, IReadOnlySet<string> holders, IEnumerable<string> texts)
    {
        var hits = new List<string>();
        var scanned = 0;
        foreach (var file in roots.Where(Directory.Exists).SelectMany(r => Directory.EnumerateFiles(r, "*", SearchOption.AllDirectories)))
        {
            var info = new FileInfo(file);
            if (holders.Contains(info.Name))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
                Assert.Equal("0", Sh.Run("stat", "-c", "%u", file).Check("stat").Stdout.Trim());
                continue;
            }
            if (info.Name == "agent" || info.Length > (256 << 20) || info.Name.EndsWith(".raw", StringComparison.Ordinal) || info.Name.EndsWith(".img", StringComparison.Ordinal))
            {
                continue; // the binary and disk images hold no text of ours
            }
            scanned++;
            var bytes = File.ReadAllBytes(file);
            foreach (var (name, secret) in secrets)
            {
                if (bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(secret)) >= 0)
                {
                    hits.Add($"{name} in {file}");
                }
            }
        }
        foreach (var text in texts)
        {
            foreach (var (name, secret) in secrets.Where(s => text.Contains(s.Value, StringComparison.Ordinal)))
            {
                hits.Add($"{name} in a log or process");
            }
        }
        Assert.True(scanned > 0, "no file was scanned");
        Assert.True(hits.Count == 0, "secrets found: " + string.Join("; ", hits));
    }

    /// <summary>A process's command line and environment, NUL-separated, as /proc shows them.</summary>
    public static string ProcessText(int pid) =>
        File.ReadAllText($"/proc/{pid}/cmdline") + "\n" + File.ReadAllText($"/proc/{pid}/environ");
}
