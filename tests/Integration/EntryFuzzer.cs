using System.Text;
using Ferry.Transfer.Protocol;
using Google.Protobuf;

namespace Ferry.Tests.Integration;

/// <summary>
/// Test-only generator of hostile file entries: paths with "..", absolute, empty components, NUL,
/// over-long names and paths, the receiver's staging name; symlinks to outside followed by entries
/// that go through them; hard links out of the tree and to themselves; device nodes (the receiver's
/// own disks among them) and setuid files; huge and malformed xattrs; unknown kinds; huge sizes;
/// and byte-level damage to the encoded entry. Deterministic for a seed.
/// </summary>
internal sealed class EntryFuzzer(int seed, string outside)
{
    private readonly Random _random = new(seed);
    // Paths that were applied (the tree's root is ""): later entries go beneath and through them.
    private readonly List<string> _made = [""];
    private readonly List<string> _directories = [""];

    /// <summary>The next entry's encoding (sometimes damaged), its id, and the entry itself when it decodes as built.</summary>
    public (byte[] Payload, FileEntry Entry) Next()
    {
        var entry = new FileEntry
        {
            Path = Bytes(Path()),
            Kind = (FileKind)(_random.Next(14) switch { 0 => _random.Next(9, 1000), var k and < 9 => k, 9 or 10 => (int)FileKind.Directory, _ => (int)FileKind.Regular }),
            Mode = _random.Next(4) == 0 ? (uint)_random.Next() : (uint)_random.Next(0, 0x1000) | (_random.Next(5) == 0 ? 0xC00u : 0), // setuid/setgid too
            Uid = (uint)_random.Next(3) switch { 0 => 0u, 1 => (uint)_random.Next(), _ => 1000u },
            Gid = (uint)_random.Next(3) switch { 0 => 0u, 1 => (uint)_random.Next(), _ => 1000u },
            MtimeSeconds = _random.Next(3) == 0 ? _random.NextInt64(long.MinValue, long.MaxValue) : 1_700_000_000,
            MtimeNanos = (uint)_random.Next(0, 1_100_000_000),
            AtimeSeconds = _random.NextInt64(-1_000_000_000, 4_000_000_000),
            Size = _random.Next(20) == 0 ? (ulong)_random.NextInt64() : (ulong)_random.Next(0, 8192),
            RdevMajor = (uint)_random.Next(3) switch { 0 => 8u, 1 => 1u, _ => (uint)_random.Next() }, // 8: the receiver's sd disks
            RdevMinor = (uint)_random.Next(0, 16),
            Link = Bytes(Link()),
        };
        for (var i = _random.Next(4) == 0 ? _random.Next(1, 5) : 0; i > 0; i--)
        {
            entry.Xattrs.Add(new Xattr
            {
                Name = Bytes(_random.Next(6) switch
                {
                    0 => "user.fuzz",
                    1 => "security.capability",
                    2 => "system.posix_acl_access",
                    3 => "trusted.x",
                    4 => new string('x', _random.Next(200, 400)),
                    _ => "user." + Path(),
                }),
                Value = ByteString.CopyFrom(Junk(_random.Next(10) == 0 ? _random.Next(60_000, 70_000) : _random.Next(0, 64))),
            });
        }
        var payload = entry.ToByteArray();
        if (_random.Next(20) == 0 && payload.Length > 0)
        {
            // Damage the encoding: a flipped bit or a cut.
            if (_random.Next(2) == 0)
            {
                payload[_random.Next(payload.Length)] ^= (byte)(1 << _random.Next(8));
            }
            else
            {
                payload = payload[.._random.Next(payload.Length)];
            }
        }
        return (payload, entry);
    }

    public byte[] Content(int length) => Junk(length);

    /// <summary>The receiver applied <paramref name="entry"/>: later entries may go beneath or through it.</summary>
    public void Applied(FileEntry entry)
    {
        if (entry.Kind is FileKind.Directory or FileKind.Regular or FileKind.Symlink or FileKind.CharDevice or FileKind.BlockDevice && _made.Count < 2000)
        {
            _made.Add(entry.Path.ToStringUtf8());
        }
        if (entry.Kind == FileKind.Directory && _directories.Count < 500)
        {
            _directories.Add(entry.Path.ToStringUtf8());
        }
    }

    private string Path() => _random.Next(40) switch
    {
        0 => "../escape" + _random.Next(100),
        1 => "/etc/ferry-fuzz-escape",
        2 => Beneath(Pick(), "../../escape"),
        3 => "a\0b",
        4 => "./x",
        5 => "x//y",
        6 => ".ferry-partial/" + _random.Next(10),
        7 => new string('n', _random.Next(250, 300)),                   // at and past NAME_MAX
        8 => string.Join('/', Enumerable.Repeat("deep", _random.Next(800, 1100))), // at and past PATH_MAX
        9 => "",
        10 or 11 or 12 => Beneath(Pick(), "through"),                    // through whatever that is: a symlink, a file, a device
        _ => Beneath(_directories[_random.Next(_directories.Count)], Name()),
    };

    private static string Beneath(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;

    private string Link() => _random.Next(8) switch
    {
        0 => outside,
        1 => "/etc/passwd",
        2 => "../../../../../../../../" + outside.TrimStart('/'),
        3 => Pick(),
        4 => "",
        5 => new string('l', 5000),
        _ => Name(),
    };

    private string Pick() => _made[_random.Next(_made.Count)];

    private string Name() => "n" + _random.Next(50).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static ByteString Bytes(string s) => ByteString.CopyFrom(Encoding.UTF8.GetBytes(s));

    private byte[] Junk(int length)
    {
        var b = new byte[length];
        _random.NextBytes(b);
        return b;
    }
}
