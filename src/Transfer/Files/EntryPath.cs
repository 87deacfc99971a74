using System.Text;
using Ferry.Transfer.Errors;

namespace Ferry.Transfer.Files;

/// <summary>
/// The rules for a path in a file entry: relative to the tree's root, components joined by single
/// '/', none of them empty, "." or "..", and no NUL anywhere. The receiver refuses anything else
/// before touching the disk (E_PATH_UNSAFE), so no entry can name a place outside its tree.
/// </summary>
public static class EntryPath
{
    /// <summary>PATH_MAX less the terminating NUL.</summary>
    public const int MaxLength = 4095;

    /// <summary>NAME_MAX.</summary>
    public const int MaxComponent = 255;

    /// <summary>Whether <paramref name="path"/> is a valid entry path; the empty path is the root.</summary>
    public static bool IsValid(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty)
        {
            return true;
        }
        if (path.Length > MaxLength || path.IndexOf((byte)0) >= 0)
        {
            return false;
        }
        foreach (var range in path.Split((byte)'/'))
        {
            var component = path[range];
            if (component.IsEmpty || component.Length > MaxComponent || component.SequenceEqual("."u8) || component.SequenceEqual(".."u8))
            {
                return false;
            }
        }
        return true;
    }

    /// <exception cref="FerryException">E_PATH_UNSAFE: the path breaks the rules.</exception>
    public static void Check(ReadOnlySpan<byte> path, string what)
    {
        if (!IsValid(path))
        {
            throw new FerryException(ErrorCode.PathUnsafe,
                $"{what} '{Show(path)}' is not a plain relative path (absolute, '..', '.', an empty component, or a NUL byte)");
        }
    }

    /// <summary>The parent's path (empty for a child of the root) and the last component.</summary>
    public static (byte[] Parent, byte[] Name) Split(ReadOnlySpan<byte> path)
    {
        var slash = path.LastIndexOf((byte)'/');
        return slash < 0 ? ([], path.ToArray()) : (path[..slash].ToArray(), path[(slash + 1)..].ToArray());
    }

    public static byte[] Join(ReadOnlySpan<byte> parent, ReadOnlySpan<byte> name)
    {
        if (parent.IsEmpty)
        {
            return name.ToArray();
        }
        var path = new byte[parent.Length + 1 + name.Length];
        parent.CopyTo(path);
        path[parent.Length] = (byte)'/';
        name.CopyTo(path.AsSpan(parent.Length + 1));
        return path;
    }

    /// <summary>
    /// The order a depth-first walk with each directory's names sorted bytewise meets paths in: component by component, so
    /// a directory comes right before what it holds ("a" &lt; "a/z" &lt; "a-b").
    /// </summary>
    public static int CompareTreeOrder(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var common = a.CommonPrefixLength(b);
        if (common == a.Length || common == b.Length)
        {
            return a.Length.CompareTo(b.Length);
        }
        return Rank(a[common]).CompareTo(Rank(b[common]));

        // A separator ends a component: it sorts before any byte a longer name could go on with.
        static int Rank(byte c) => c == (byte)'/' ? -1 : c;
    }

    /// <summary>A lossless key for a byte path (each byte one char), for dictionaries and sets.</summary>
    public static string Key(ReadOnlySpan<byte> path) => Encoding.Latin1.GetString(path);

    /// <summary>For messages only: the bytes as UTF-8, invalid sequences replaced.</summary>
    public static string Show(ReadOnlySpan<byte> path) => Encoding.UTF8.GetString(path);
}
