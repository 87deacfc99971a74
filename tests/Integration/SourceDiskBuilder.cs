using System.Security.Cryptography;
using System.Text;

namespace Ferry.Tests.Integration;

/// <summary>
/// Builds a realistic source disk on a loop device: GPT with a BIOS-boot partition, an ext4 root
/// holding a few thousand files (text, random binaries, sparse, symlinks, hard links, odd modes and
/// owners), an XFS data partition, and free space left unpartitioned at the end.
/// </summary>
internal static class SourceDiskBuilder
{
    public const long DiskBytes = 1L << 30;

    public const string GptLayout = """
        label: gpt
        size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios"
        size=300MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
        size=360MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"
        """;

    public static LoopDisk Build(TempDir dir, int files = 3000)
    {
        Requires.Tool("mkfs.ext4");
        Requires.Tool("mkfs.xfs");
        var disk = LoopDisk.Create(dir["source.img"], DiskBytes, GptLayout);
        try
        {
            // Boot code in the BIOS-boot partition must arrive byte for byte.
            Sh.Bash($"head -c 1048576 /dev/urandom > {dir["bios.bin"]} && dd if={dir["bios.bin"]} of={disk.Partition(1)} bs=1M conv=fsync status=none");
            Sh.Run("mkfs.ext4", "-q", "-F", "-L", "root", disk.Partition(2)).Check("mkfs.ext4");
            Sh.Run("mkfs.xfs", "-q", "-f", "-L", "data", disk.Partition(3)).Check("mkfs.xfs");
            var root = disk.Mount(2, dir["src-root"]);
            var data = disk.Mount(3, dir["src-data"]);
            Populate(root, files, seed: 1);
            Populate(data, files / 10, seed: 2);
            Sh.Bash($"head -c 20000000 /dev/urandom > {data}/big.bin && truncate -s 64M {data}/sparse.img && echo tail >> {data}/sparse.img");
            disk.UnmountAll();
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    public static void Populate(string root, int files, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < files; i++)
        {
            var dir = Path.Combine(root, $"d{i % 37:D2}", $"s{i % 7}");
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, $"f{i:D5}" + (i % 3 == 0 ? ".txt" : ".bin"));
            byte[] content;
            if (i % 3 == 0)
            {
                var sb = new StringBuilder();
                for (var line = 0; line < random.Next(1, 200); line++)
                {
                    sb.Append("line ").Append(line).Append(" of file ").Append(i).Append(": the quick brown fox jumps over the lazy dog\n");
                }
                content = Encoding.UTF8.GetBytes(sb.ToString());
            }
            else
            {
                content = RandomNumberGenerator.GetBytes(random.Next(0, 48 * 1024));
            }
            File.WriteAllBytes(path, content);
            File.SetUnixFileMode(path, (i % 5) switch
            {
                0 => UnixFileMode.UserRead | UnixFileMode.UserWrite,
                1 => UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                _ => UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            });
            File.SetLastWriteTimeUtc(path, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i * 7919).AddTicks(i * 13));
        }
        Sh.Bash($"""
            cd '{root}'
            ln -s d00/s0/f00000.txt link-to-text
            ln -s /nonexistent dangling
            ln d01/s1/f00001.bin hardlink-1
            chown -R 1234:5678 d02
            chmod 4755 d03/s3/f00003.txt
            mkdir -p empty/dir
            """);
    }
}
