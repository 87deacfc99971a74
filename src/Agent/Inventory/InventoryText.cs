using System.Globalization;
using System.Text;

namespace Ferry.Agent.Inventory;

/// <summary>The inventory as a person reads it.</summary>
public static class InventoryText
{
    public static string Format(SystemInventory inv)
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"Host      {inv.Hostname}");
        sb.AppendLine(ci, $"OS        {inv.OsName} (kernel {inv.Kernel})");
        sb.AppendLine(ci, $"CPU       {inv.Cpus} x {inv.CpuModel ?? "unknown"}");
        sb.AppendLine(ci, $"Memory    {Size(inv.MemoryBytes)}");
        sb.AppendLine(ci, $"Boot mode {inv.BootMode.ToUpperInvariant()}");
        foreach (var d in inv.Disks)
        {
            sb.AppendLine();
            sb.AppendLine(ci, $"{d.Path}  {Size(d.SizeBytes)}  table={d.PartitionTable}  id={d.DiskId ?? "-"}  boot={(d.Bootloaders.Count > 0 ? string.Join(",", d.Bootloaders) : d.BootCode)}");
            if (d.Filesystem is { } whole)
            {
                sb.AppendLine(ci, $"  (whole disk)  {Fs(whole)}");
            }
            foreach (var p in d.Partitions)
            {
                sb.AppendLine(ci, $"  {p.Path ?? "#" + p.Number,-16} {Size(p.SizeBytes),10}  type={p.Type}  {(p.Filesystem is null ? "-" : Fs(p.Filesystem))}");
            }
        }
        return sb.ToString();
    }

    private static string Fs(FilesystemEntry f) =>
        $"{f.Type} uuid={f.Uuid ?? "-"} label={f.Label ?? "-"} used={(f.UsedBytes is { } u ? Size(u) : "?")}/{Size(f.SizeBytes)}" +
        (f.MountPoints.Count > 0 ? $" on {string.Join(",", f.MountPoints)}{(f.ReadOnly ? " (ro)" : "")}" : "");

    public static string Size(long bytes) => Transfer.ByteSize.Format(bytes);
}
