using Ferry.Disks.Interop;
using Ferry.Snapshot;
using Xunit;

namespace Ferry.Tests.Unit.Snapshot;

/// <summary>The LVM provider driven by recorded lvs/lvcreate/lvremove output: this machine has no device-mapper, so no real snapshot can be made.</summary>
public sealed class LvmSnapshotRecordedOutputTests
{
    // `lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_path,lv_dm_path,lv_size,vg_free,vg_extent_size` on a server with
    // a 10 GiB root and a 20 GiB /srv in vg0 (1 GiB free, 4 MiB extents) and swap in vg1 (nothing free).
    private const string RecordedLvs = """
          {
              "report": [
                  {
                      "lv": [
                          {"lv_name":"root", "vg_name":"vg0", "lv_path":"/dev/vg0/root", "lv_dm_path":"/dev/mapper/vg0-root", "lv_size":"10737418240", "vg_free":"1073741824", "vg_extent_size":"4194304"},
                          {"lv_name":"srv", "vg_name":"vg0", "lv_path":"/dev/vg0/srv", "lv_dm_path":"/dev/mapper/vg0-srv", "lv_size":"21474836480", "vg_free":"1073741824", "vg_extent_size":"4194304"},
                          {"lv_name":"swap", "vg_name":"vg1", "lv_path":"/dev/vg1/swap", "lv_dm_path":"/dev/mapper/vg1-swap", "lv_size":"2147483648", "vg_free":"0", "vg_extent_size":"4194304"}
                      ]
                  }
              ]
          }
        """;

    private static ChildResult? Answer(string command) => command switch
    {
        _ when command.StartsWith("lvs --reportformat json", StringComparison.Ordinal) => new ChildResult(0, RecordedLvs, ""),
        _ when command.StartsWith("lvcreate --snapshot --name ferry-snap-root", StringComparison.Ordinal) =>
            new ChildResult(0, "  Logical volume \"ferry-snap-root\" created.\n", ""),
        "lvremove -f vg0/ferry-snap-root" => new ChildResult(0, "  Logical volume \"ferry-snap-root\" successfully removed.\n", ""),
        "lvs vg0/ferry-snap-root" => new ChildResult(0, "  LV              VG  Attr       LSize\n  ferry-snap-root vg0 swi-a-s--- 1.00g\n", ""),
        _ => null,
    };

    [Fact]
    public async Task FindAndCreate_RecordedOutput_SizesFromFreeExtents_AndRecordsTheNameBeforeLvcreate()
    {
        using var dir = new TempDir();
        var tools = new RecordedSystemTools(Answer, dir["lvm-snapshots"]);

        var lv = await LvmSnapshot.FindAsync(tools, "/dev/mapper/vg0-root", CancellationToken.None);
        var snapshot = await LvmSnapshot.CreateAsync(tools, lv!, "/", dir.Path, CancellationToken.None);

        Assert.Equal(new LogicalVolume("root", "vg0", "/dev/vg0/root", "/dev/mapper/vg0-root", 10L << 30, 1L << 30, 4L << 20), lv);
        // A fifth of 10 GiB is 2 GiB, but only 1 GiB (256 extents) is free.
        Assert.Equal(1L << 30, snapshot.SizeBytes);
        Assert.Equal("/dev/vg0/ferry-snap-root", snapshot.Device);
        var create = Assert.Single(tools.Calls, c => c.Command.StartsWith("lvcreate", StringComparison.Ordinal));
        Assert.Equal("lvcreate --snapshot --name ferry-snap-root --size 1073741824b vg0/root", create.Command);
        Assert.Equal("vg0/ferry-snap-root\n", create.RecordAtCall);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir["lvm-snapshots"]));
    }

    [Fact]
    public async Task Find_DeviceThatIsNoLogicalVolume_RecordedOutput_IsNull()
    {
        var tools = new RecordedSystemTools(Answer);

        Assert.Null(await LvmSnapshot.FindAsync(tools, "/dev/sda2", CancellationToken.None));
    }

    [Fact]
    public async Task Create_VolumeGroupWithoutFreeExtents_RecordedOutput_IsRefusedAndNothingIsCreated()
    {
        using var dir = new TempDir();
        var tools = new RecordedSystemTools(Answer);
        var swap = await LvmSnapshot.FindAsync(tools, "/dev/vg1/swap", CancellationToken.None);

        var e = await Assert.ThrowsAsync<SnapshotException>(() => LvmSnapshot.CreateAsync(tools, swap!, "/swap", dir.Path, CancellationToken.None));

        Assert.Contains("volume group vg1 has no free extents", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(tools.Calls, c => c.Command.StartsWith("lvcreate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MountThenDelete_RecordedOutput_MountsReadOnly_UnmountsRemovesAndClearsTheRecord()
    {
        using var dir = new TempDir();
        var tools = new RecordedSystemTools(Answer);
        var lv = await LvmSnapshot.FindAsync(tools, "/dev/vg0/root", CancellationToken.None);
        var snapshot = await LvmSnapshot.CreateAsync(tools, lv!, "/", dir.Path, CancellationToken.None);

        await snapshot.MountAsync(dir["view"], "xfs", CancellationToken.None);
        await snapshot.DeleteAsync(CancellationToken.None);

        Assert.Equal(
            [$"mount -o ro,nouuid /dev/vg0/ferry-snap-root {dir["view"]}", $"umount {dir["view"]}", "lvremove -f vg0/ferry-snap-root"],
            tools.Calls.Skip(2).Select(c => c.Command));
        Assert.Equal("", File.ReadAllText(dir["lvm-snapshots"]));
    }

    [Fact]
    public async Task CleanUp_SnapshotLeftByARunThatDied_RecordedOutput_IsUnmountedAndRemoved()
    {
        using var dir = new TempDir();
        var tools = new RecordedSystemTools(Answer);
        var lv = await LvmSnapshot.FindAsync(tools, "/dev/vg0/root", CancellationToken.None);
        await LvmSnapshot.CreateAsync(tools, lv!, "/", dir.Path, CancellationToken.None);
        tools.Calls.Clear();

        var removed = await LvmSnapshot.CleanUpAsync(tools, dir.Path, CancellationToken.None);

        Assert.Equal(["vg0/ferry-snap-root"], removed);
        Assert.Equal(["umount /dev/vg0/ferry-snap-root", "lvs vg0/ferry-snap-root", "lvremove -f vg0/ferry-snap-root"], tools.Calls.Select(c => c.Command));
        Assert.Empty(await LvmSnapshot.CleanUpAsync(tools, dir.Path, CancellationToken.None));
    }
}
