namespace Ferry.Disks;

/// <summary>A window of a block device (a partition, or the whole disk) read with offsets relative to its start.</summary>
public sealed class DeviceRegion(BlockDevice device, long start, long length) : IByteReader
{
    public long Start { get; } = start;

    public long Length { get; } = length;

    public static DeviceRegion WholeDisk(BlockDevice device) => new(device, 0, device.SizeBytes);

    public void ReadExactly(Span<byte> buffer, long offset)
    {
        if (offset < 0 || offset + buffer.Length > Length)
        {
            throw new DiskException(DiskError.Corrupt, device.Path,
                $"{device.Path}: a structure points outside its region (offset {offset}, length {buffer.Length}, region size {Length}).", Start + offset);
        }
        device.ReadExactly(buffer, Start + offset);
    }
}
