namespace Ferry.Tests.Integration;

/// <summary>
/// A sparse image file attached to a loop device with partition scanning. There is no udev here,
/// so partition nodes are added with partx when the kernel did not create them.
/// </summary>
internal sealed class LoopDisk : IDisposable
{
    private readonly List<string> _mounts = [];

    private LoopDisk(string image, string device)
    {
        Image = image;
        Device = device;
    }

    public string Image { get; }

    public string Device { get; }

    public static LoopDisk Create(string image, long sizeBytes, string? sfdiskScript = null, bool readOnly = false)
    {
        Requires.RootAndLoopDevices();
        if (!File.Exists(image))
        {
            using (var f = File.Create(image))
            {
                f.SetLength(sizeBytes);
            }
        }
        if (sfdiskScript is not null)
        {
            Requires.Tool("sfdisk");
            Sh.Run("sfdisk", ["-q", image], sfdiskScript, TimeSpan.FromMinutes(1)).Check("sfdisk");
        }
        string[] args = readOnly ? ["-f", "--show", "-P", "-r", image] : ["-f", "--show", "-P", image];
        var device = Sh.Run("losetup", args).Check("losetup").Stdout.Trim();
        var disk = new LoopDisk(image, device);
        disk.RescanPartitions();
        return disk;
    }

    public string Partition(int number) => $"{Device}p{number}";

    public void RescanPartitions()
    {
        Sh.Run("partx", "-a", Device);
    }

    public string Mount(int partition, string mountPoint, string options = "")
    {
        Directory.CreateDirectory(mountPoint);
        string[] args = options.Length > 0 ? ["-o", options, Partition(partition), mountPoint] : [Partition(partition), mountPoint];
        Sh.Run("mount", args).Check("mount " + Partition(partition));
        _mounts.Add(mountPoint);
        return mountPoint;
    }

    public void UnmountAll()
    {
        foreach (var m in Enumerable.Reverse(_mounts))
        {
            Sh.Run("umount", m);
        }
        _mounts.Clear();
    }

    public void Dispose()
    {
        UnmountAll();
        Sh.Run("losetup", "-d", Device);
    }
}
