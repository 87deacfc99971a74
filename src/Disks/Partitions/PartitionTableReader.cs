using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Disks.Partitions;

/// <summary>
/// Reads MBR and GPT partition tables. GPT headers and entry arrays are checked against their
/// CRC32 (UEFI spec 2.10, 5.3.2); a damaged primary header falls back to the backup at the disk's end.
/// </summary>
public static class PartitionTableReader
{
    private const int MbrEntriesOffset = 446;
    private const byte MbrProtectiveType = 0xEE;
    private const int MaxLogicalPartitions = 128;
    private const int MaxGptEntries = 1024;
    private const long OneMiB = 1 << 20;

    public static PartitionTable Read(SafeFileHandle handle, string path, long diskSize, int sectorSize)
    {
        byte[] ReadAt(long offset, int length)
        {
            var buffer = new byte[length];
            BlockDevice.ReadExactly(handle, path, buffer, offset);
            return buffer;
        }
        return Parse(offset => ReadAt(offset, Math.Max(512, sectorSize)), ReadAt, diskSize, sectorSize);
    }

    /// <summary>Parses a table through read callbacks, so tests can feed recorded sectors.</summary>
    public static PartitionTable Parse(Func<long, byte[]> readSector, Func<long, int, byte[]> read, long diskSize, int sectorSize)
    {
        var mbr = readSector(0);
        if (mbr.Length < 512 || mbr[510] != 0x55 || mbr[511] != 0xAA)
        {
            return new PartitionTable(PartitionScheme.None, null, sectorSize, [], []);
        }

        var entries = Enumerable.Range(0, 4).Select(i => mbr.AsSpan(MbrEntriesOffset + (16 * i), 16).ToArray()).ToArray();
        if (entries.Any(e => e[4] == MbrProtectiveType))
        {
            var gpt = TryReadGpt(readSector, read, diskSize, sectorSize);
            if (gpt is not null)
            {
                return gpt;
            }
        }
        return ReadMbr(mbr, readSector, diskSize, sectorSize);
    }

    private static PartitionTable ReadMbr(byte[] mbr, Func<long, byte[]> readSector, long diskSize, int sectorSize)
    {
        var diskSignature = BinaryPrimitives.ReadUInt32LittleEndian(mbr.AsSpan(440));
        var diskId = "0x" + diskSignature.ToString("x8", CultureInfo.InvariantCulture);
        var partitions = new List<Partition>();
        var bootAreas = new RangeList();

        for (var i = 0; i < 4; i++)
        {
            var e = mbr.AsSpan(MbrEntriesOffset + (16 * i), 16);
            var type = e[4];
            var start = (long)BinaryPrimitives.ReadUInt32LittleEndian(e[8..]) * sectorSize;
            var size = (long)BinaryPrimitives.ReadUInt32LittleEndian(e[12..]) * sectorSize;
            if (type == 0 || size == 0)
            {
                continue;
            }
            var p = new Partition(i + 1, start, size, type.ToString("x2", CultureInfo.InvariantCulture), MbrPartUuid(diskSignature, i + 1), null, e[0] == 0x80);
            partitions.Add(p);
            if (p.IsExtended)
            {
                ReadLogicalPartitions(p, diskSignature, readSector, sectorSize, partitions, bootAreas);
            }
        }

        AddFirstGap(partitions, bootAreas, diskSize);
        return new PartitionTable(PartitionScheme.Mbr, diskId, sectorSize, partitions, bootAreas.ToMerged(diskSize));
    }

    /// <summary>Walks the EBR chain; each EBR and the gap up to its logical partition is boot-area data.</summary>
    private static void ReadLogicalPartitions(Partition extended, uint diskSignature, Func<long, byte[]> readSector,
        int sectorSize, List<Partition> partitions, RangeList bootAreas)
    {
        var ebrOffset = extended.StartBytes;
        var number = 5;
        var seen = new HashSet<long>();
        while (number < 5 + MaxLogicalPartitions && seen.Add(ebrOffset))
        {
            if (ebrOffset < extended.StartBytes || ebrOffset >= extended.EndBytes)
            {
                throw new DiskException(DiskError.Corrupt, string.Empty, $"EBR at byte {ebrOffset} lies outside its extended partition.");
            }
            var ebr = readSector(ebrOffset);
            if (ebr[510] != 0x55 || ebr[511] != 0xAA)
            {
                break;
            }
            var logical = ebr.AsSpan(MbrEntriesOffset, 16);
            var next = ebr.AsSpan(MbrEntriesOffset + 16, 16);
            var lType = logical[4];
            var lStart = ebrOffset + ((long)BinaryPrimitives.ReadUInt32LittleEndian(logical[8..]) * sectorSize);
            var lSize = (long)BinaryPrimitives.ReadUInt32LittleEndian(logical[12..]) * sectorSize;
            if (lType != 0 && lSize > 0)
            {
                partitions.Add(new Partition(number, lStart, lSize, lType.ToString("x2", CultureInfo.InvariantCulture),
                    MbrPartUuid(diskSignature, number), null, logical[0] == 0x80));
                bootAreas.Add(ebrOffset, Math.Max(sectorSize, lStart - ebrOffset));
                number++;
            }
            else
            {
                bootAreas.Add(ebrOffset, sectorSize);
            }
            var nextRel = (long)BinaryPrimitives.ReadUInt32LittleEndian(next[8..]);
            if (next[4] == 0 || nextRel == 0)
            {
                break;
            }
            ebrOffset = extended.StartBytes + (nextRel * sectorSize);
        }
    }

    private static PartitionTable? TryReadGpt(Func<long, byte[]> readSector, Func<long, int, byte[]> read, long diskSize, int sectorSize)
    {
        var lastLba = (diskSize / sectorSize) - 1;
        var header = readSector(sectorSize);
        if (!IsValidGptHeader(header, 1))
        {
            header = readSector(lastLba * sectorSize);
            if (!IsValidGptHeader(header, lastLba))
            {
                return null;
            }
        }

        var h = header.AsSpan();
        var firstUsable = BinaryPrimitives.ReadInt64LittleEndian(h[40..]);
        var lastUsable = BinaryPrimitives.ReadInt64LittleEndian(h[48..]);
        var diskGuid = new Guid(h.Slice(56, 16)).ToString("D").ToUpperInvariant();
        var entriesLba = BinaryPrimitives.ReadInt64LittleEndian(h[72..]);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(h[80..]);
        var entrySize = BinaryPrimitives.ReadUInt32LittleEndian(h[84..]);
        var entriesCrc = BinaryPrimitives.ReadUInt32LittleEndian(h[88..]);
        if (count > MaxGptEntries || entrySize < 128 || entrySize > 1024 || entrySize % 8 != 0
            || entriesLba < 2 || entriesLba > lastLba || firstUsable > lastUsable || lastUsable > lastLba)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, "GPT header fields are out of range.");
        }

        var entries = read(entriesLba * sectorSize, checked((int)(count * entrySize)));
        if (Crc32.HashToUInt32(entries) != entriesCrc)
        {
            throw new DiskException(DiskError.Corrupt, string.Empty, "GPT partition entry array fails its CRC32.");
        }

        var partitions = new List<Partition>();
        for (var i = 0; i < count; i++)
        {
            var e = entries.AsSpan((int)(i * entrySize), (int)entrySize);
            var type = new Guid(e[..16]);
            if (type == Guid.Empty)
            {
                continue;
            }
            var first = BinaryPrimitives.ReadInt64LittleEndian(e[32..]);
            var last = BinaryPrimitives.ReadInt64LittleEndian(e[40..]);
            if (first < firstUsable || last > lastUsable || last < first)
            {
                throw new DiskException(DiskError.Corrupt, string.Empty, $"GPT entry {i + 1} lies outside the usable area.");
            }
            var attributes = BinaryPrimitives.ReadUInt64LittleEndian(e[48..]);
            var name = Encoding.Unicode.GetString(e.Slice(56, 72)).TrimEnd('\0');
            partitions.Add(new Partition(i + 1, first * sectorSize, (last - first + 1) * sectorSize,
                type.ToString("D").ToUpperInvariant(), new Guid(e.Slice(16, 16)).ToString("D").ToUpperInvariant(),
                name, (attributes & 0x4) != 0));
        }

        var bootAreas = new RangeList();
        AddFirstGap(partitions, bootAreas, diskSize);
        // The backup entry array and header live after the last usable LBA.
        bootAreas.Add((lastUsable + 1) * sectorSize, diskSize - ((lastUsable + 1) * sectorSize));
        return new PartitionTable(PartitionScheme.Gpt, diskGuid, sectorSize, partitions, bootAreas.ToMerged(diskSize));
    }

    private static bool IsValidGptHeader(byte[] sector, long expectedLba)
    {
        var h = sector.AsSpan();
        if (h.Length < 92 || !h[..8].SequenceEqual("EFI PART"u8))
        {
            return false;
        }
        var size = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
        if (size < 92 || size > h.Length)
        {
            return false;
        }
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
        var copy = h[..(int)size].ToArray();
        copy.AsSpan(16, 4).Clear();
        return Crc32.HashToUInt32(copy) == stored && BinaryPrimitives.ReadInt64LittleEndian(h[24..]) == expectedLba;
    }

    /// <summary>The MBR and everything before the first partition (GRUB's core image in MBR setups).</summary>
    private static void AddFirstGap(List<Partition> partitions, RangeList bootAreas, long diskSize)
    {
        var first = partitions.Count == 0 ? OneMiB : partitions.Min(p => p.StartBytes);
        bootAreas.Add(0, Math.Min(diskSize, Math.Max(OneMiB, first)));
    }

    /// <summary>The kernel and blkid name an MBR partition "SSSSSSSS-NN".</summary>
    private static string MbrPartUuid(uint signature, int number) =>
        signature.ToString("x8", CultureInfo.InvariantCulture) + "-" + number.ToString("x2", CultureInfo.InvariantCulture);
}
