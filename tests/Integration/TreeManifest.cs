namespace Ferry.Tests.Integration;

/// <summary>
/// A listing of a mounted tree that two copies must share: every entry's path, type, mode, owner,
/// size, mtime (ns), link target and link count, and every regular file's SHA-256.
/// </summary>
internal static class TreeManifest
{
    public static string Of(string root)
    {
        var meta = Sh.Run("/bin/bash", ["-c", "cd \"$1\" && find . -xdev -printf '%p %y %m %U %G %s %T@ %n %l\\n' | LC_ALL=C sort", "_", root], null, TimeSpan.FromMinutes(2))
            .Check("find").Stdout;
        var hashes = Sh.Run("/bin/bash", ["-c", "cd \"$1\" && find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum", "_", root], null, TimeSpan.FromMinutes(5))
            .Check("sha256sum").Stdout;
        return meta + hashes;
    }
}
