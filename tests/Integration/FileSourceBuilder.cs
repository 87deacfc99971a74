namespace Ferry.Tests.Integration;

/// <summary>
/// A source server's filesystems for file replication: an ext4 root (1 GiB) and an XFS /data
/// (700 MiB) on a loop disk, mounted as <c>src/</c> and <c>src/data</c>, holding thousands of small
/// files, large and sparse files, hard links, symlinks, a FIFO, a socket, a device node, a name that
/// is not UTF-8, xattrs (user and trusted), POSIX ACLs (access and default), a file capability,
/// nanosecond timestamps, and content in excluded places.
/// </summary>
internal static class FileSourceBuilder
{
    public const long RootBytes = 1L << 30;
    public const long DataBytes = 700L << 20;

    public static LoopDisk Build(TempDir dir, string root)
    {
        Requires.Tool("mkfs.ext4");
        Requires.Tool("mkfs.xfs");
        Requires.Tool("setfacl");
        Requires.Tool("setcap");
        Requires.Tool("rsync");
        var disk = LoopDisk.Create(dir["source.img"], 2L << 30, """
            label: gpt
            size=1GiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
            size=700MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
            """);
        try
        {
            // An older distribution's ext4 (group checksums, no metadata_csum or 64bit): the target must keep exactly these features.
            Sh.Run("mkfs.ext4", "-q", "-F", "-L", "root", "-O", "^metadata_csum,^64bit,uninit_bg", disk.Partition(1)).Check("mkfs.ext4");
            // An XFS of an older mkfs.xfs (no reflink, bigtime or inobtcount): the target must keep that too.
            Sh.Run("mkfs.xfs", "-q", "-f", "-L", "data", "-m", "reflink=0,bigtime=0,inobtcount=0", disk.Partition(2)).Check("mkfs.xfs");
            disk.Mount(1, root);
            Directory.CreateDirectory(Path.Combine(root, "data"));
            var data = disk.Mount(2, Path.Combine(root, "data"));
            SourceDiskBuilder.Populate(root, 3000, seed: 1);
            SourceDiskBuilder.Populate(data, 300, seed: 2);
            Sh.Bash($"""
                cd '{root}'
                mkdir -p opt usr/bin run dev proc/1 mnt/usb shared etc var/empty
                head -c 8000000 /dev/urandom > opt/big1.bin
                head -c 16000000 /dev/urandom > data/big.bin
                truncate -s 256M data/sparse.img
                printf 'one' | dd of=data/sparse.img bs=1 seek=1048576 conv=notrunc status=none
                printf 'two' | dd of=data/sparse.img bs=1 seek=104857600 conv=notrunc status=none
                ln data/d00/s0/f00000.txt data/hard-to-first
                ln opt/big1.bin usr/bin/big-hard
                mkfifo run/fifo
                python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('run/sock')"
                mknod var/empty/null c 1 3
                mknod var/empty/loop9 b 7 9
                printf 'not utf-8' > "$(printf 'etc/name-\xff\xfe')"
                echo config > etc/app.conf
                setfattr -n user.origin -v source-server etc/app.conf
                setfattr -n trusted.ferry -v "$(printf 'bin\x01ary')" etc/app.conf
                setfacl -m u:1234:rw,g:5678:r etc/app.conf
                setfacl -m d:u:1234:rwx,u:1234:rx shared
                cp /bin/true usr/bin/pinger && setcap cap_net_raw+ep usr/bin/pinger
                touch -h -d '2021-05-05 10:00:00.123456789' link-to-text
                touch -d '2019-02-03 04:05:06.987654321' etc/app.conf shared
                echo secret > proc/1/status
                echo media > mnt/usb/file
                echo lost > lost+found/orphan
                """);
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>The default excludes as rsync arguments, for comparing source and target "outside the excludes".</summary>
    public static string[] RsyncExcludes => ["--exclude=/dev/*", "--exclude=/sys/*", "--exclude=/proc/*", "--exclude=/media/*",
        "--exclude=lost+found/*", "--exclude=/mnt/*", "--exclude=/var/lib/lxcfs/*"];

    /// <summary>What rsync would change to make <paramref name="target"/> equal <paramref name="source"/>: empty when they are the same.</summary>
    public static string Differences(string source, string target) =>
        Sh.Run("rsync", ["-aHAXS", "--numeric-ids", "--dry-run", "--itemize-changes", "--delete", .. RsyncExcludes, source + "/", target + "/"], null,
            TimeSpan.FromMinutes(5)).Check("rsync --dry-run").Stdout.Trim();
}
