using Ferry.Disks.Allocation;
using Ferry.Disks.Filesystems;
using Ferry.Disks.Partitions;

namespace Ferry.Disks.Planning;

/// <summary>
/// Decides which bytes of a disk a block copy needs: the areas outside partitions that hold boot
/// code (whole), BIOS-boot partitions (whole), ext and XFS partitions (their used blocks, from the
/// allocation maps), swap (its header), and anything else whole (the reader then skips zeros).
/// Unpartitioned space after the first partition carries nothing a system needs and is not read.
/// </summary>
public static class BlockPlanner
{
    public static DiskPlan Plan(BlockDevice device)
    {
        var disk = DeviceRegion.WholeDisk(device);
        var table = PartitionTableReader.Read(device.Handle, device.Path, device.SizeBytes, device.LogicalSectorSize);
        var ranges = new RangeList();
        ranges.AddRange(table.BootAreas);
        var plans = new List<PartitionPlan>();

        if (table.Scheme == PartitionScheme.None)
        {
            var whole = new Partition(0, 0, device.SizeBytes, "none", null, null, false);
            plans.Add(PlanPartition(whole, disk, ranges));
        }
        foreach (var p in table.Partitions)
        {
            if (p.EndBytes > device.SizeBytes)
            {
                throw new DiskException(DiskError.Corrupt, device.Path, $"{device.Path}: partition {p.Number} ends beyond the disk.");
            }
            plans.Add(PlanPartition(p, new DeviceRegion(device, p.StartBytes, p.SizeBytes), ranges));
        }
        var merged = ranges.ToMerged(device.SizeBytes);
        return new DiskPlan(table, plans, merged);
    }

    private static PartitionPlan PlanPartition(Partition p, DeviceRegion region, RangeList ranges)
    {
        if (p.IsExtended)
        {
            return new PartitionPlan(p, null, "container", 0);
        }
        if (p.IsBiosBoot)
        {
            ranges.Add(p.StartBytes, p.SizeBytes);
            return new PartitionPlan(p, null, "whole", p.SizeBytes);
        }
        var fs = FilesystemProbe.Probe(region);
        var used = UsedRanges.Read(region, fs);
        if (used is null)
        {
            ranges.Add(p.StartBytes, p.SizeBytes);
            return new PartitionPlan(p, fs, "nonzero", p.SizeBytes);
        }
        foreach (var r in used)
        {
            ranges.Add(r.Shift(p.StartBytes));
        }
        return new PartitionPlan(p, fs, fs!.Type == "swap" ? "header" : "allocation-map", RangeList.TotalLength(used));
    }
}
