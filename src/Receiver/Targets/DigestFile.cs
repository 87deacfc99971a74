using System.Buffers;
using System.Buffers.Binary;
using Ferry.Disks.Files;
using Ferry.Disks.Interop;
using Ferry.Transfer.Blocks;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Targets;

/// <summary>
/// The hash of every 4 KiB region of an incremental job's working image (<c>NAME.digest</c> beside
/// <c>NAME.raw</c>), kept up to date from the data as it is written, so that a later cycle learns
/// what the receiver holds without reading the image. The header records the image's identity
/// (inode, size, modification and change times) when the digest was last sealed; a digest that was
/// not sealed (the receiver died during a cycle) or whose image was touched since is not trusted:
/// it is built again from the image, region by region, never used to skip anything.
/// </summary>
public sealed class DigestFile : IDisposable
{
    private const int HeaderBytes = 128;
    private const int Version = 1;
    private static readonly byte[] Magic = "FERRYDG1"u8.ToArray();
    private readonly SafeFileHandle _handle;
    private readonly long _diskBytes;

    private DigestFile(SafeFileHandle handle, long diskBytes)
    {
        _handle = handle;
        _diskBytes = diskBytes;
    }

    /// <summary>Whether opening found the digest untrustworthy and built it again from the image.</summary>
    public bool Rebuilt { get; private set; }

    public long Regions => RegionDigest.Count(_diskBytes);

    /// <summary>
    /// Opens the digest of <paramref name="imagePath"/>, building it from the image when it is missing,
    /// damaged, unsealed or older than the image; then marks it unsealed for the writes to come.
    /// </summary>
    public static DigestFile Open(string digestPath, string imagePath, long diskBytes)
    {
        var handle = File.OpenHandle(digestPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var digest = new DigestFile(handle, diskBytes);
        try
        {
            File.SetUnixFileMode(handle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (!digest.IsSealedFor(imagePath))
            {
                digest.Rebuild(imagePath);
            }
            digest.WriteHeader(sealedFor: null);
            return digest;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Records the hashes of the whole regions <paramref name="data"/> covers at <paramref name="offset"/>; partly covered ones become unknown.</summary>
    public void Update(long offset, ReadOnlySpan<byte> data) => WriteHashes(offset, offset + data.Length, data, zeros: false);

    /// <summary>The range now reads as zeros.</summary>
    public void UpdateZeros(long offset, long length) => WriteHashes(offset, offset + length, [], zeros: true);

    /// <summary>What is held in the range is not known (it failed verification): the next cycle sends it.</summary>
    public void Forget(long offset, long length) => WriteHashes(offset, offset + length, [], zeros: false);

    /// <summary>Reads the hashes of <paramref name="count"/> regions from <paramref name="first"/> (clipped to the disk), 16 bytes each.</summary>
    public byte[] Read(long first, int count)
    {
        var n = (int)Math.Clamp(Regions - first, 0, count);
        var bytes = new byte[n * RegionDigest.HashBytes];
        FileReads.ReadExactly(_handle, bytes, HeaderBytes + (first * RegionDigest.HashBytes), "digest");
        return bytes;
    }

    /// <summary>The hash recorded for one region.</summary>
    public UInt128 Get(long region)
    {
        Span<byte> bytes = stackalloc byte[RegionDigest.HashBytes];
        FileReads.ReadExactly(_handle, bytes, HeaderBytes + (region * RegionDigest.HashBytes), "digest");
        return BinaryPrimitives.ReadUInt128LittleEndian(bytes);
    }

    /// <summary>Makes the digest durable and records the image as it is now: the next open trusts it unless the image changes.</summary>
    public void Seal(string imagePath)
    {
        Posix.Fsync(_handle, "digest");
        WriteHeader(ImageIdentity.Of(imagePath));
        Posix.Fsync(_handle, "digest");
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// Writes the hash of every region touching [<paramref name="offset"/>, <paramref name="end"/>): of
    /// <paramref name="data"/> (which starts at offset) or of zeros where a region is wholly inside;
    /// unknown for a region only partly inside, and for all of them when there is neither.
    /// </summary>
    private void WriteHashes(long offset, long end, ReadOnlySpan<byte> data, bool zeros)
    {
        if (end <= offset)
        {
            return;
        }
        var first = offset / RegionDigest.RegionBytes;
        var last = Math.Min(Regions, (end + RegionDigest.RegionBytes - 1) / RegionDigest.RegionBytes);
        const int batch = 4096;
        var buffer = ArrayPool<byte>.Shared.Rent(batch * RegionDigest.HashBytes);
        try
        {
            for (var at = first; at < last; at += batch)
            {
                var n = (int)Math.Min(batch, last - at);
                for (var i = 0; i < n; i++)
                {
                    var start = (at + i) * RegionDigest.RegionBytes;
                    var stop = Math.Min(start + RegionDigest.RegionBytes, _diskBytes);
                    var whole = start >= offset && stop <= end;
                    var hash = !whole ? RegionDigest.Unknown
                        : zeros ? (stop - start == RegionDigest.RegionBytes ? ZeroRegionHash : RegionDigest.Hash(ZeroRegion.AsSpan(0, (int)(stop - start))))
                        : data.Length > 0 ? RegionDigest.Hash(data[(int)(start - offset)..(int)(stop - offset)])
                        : RegionDigest.Unknown;
                    BinaryPrimitives.WriteUInt128LittleEndian(buffer.AsSpan(i * RegionDigest.HashBytes), hash);
                }
                RandomAccess.Write(_handle, buffer.AsSpan(0, n * RegionDigest.HashBytes), HeaderBytes + (at * RegionDigest.HashBytes));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static readonly byte[] ZeroRegion = new byte[RegionDigest.RegionBytes];

    /// <summary>The hash of a whole region of zeros, taken once: a rebuild hashes every hole of the image as this.</summary>
    private static readonly UInt128 ZeroRegionHash = RegionDigest.Hash(ZeroRegion);

    private bool IsSealedFor(string imagePath)
    {
        if (RandomAccess.GetLength(_handle) != HeaderBytes + (Regions * RegionDigest.HashBytes))
        {
            return false;
        }
        var header = new byte[HeaderBytes];
        FileReads.ReadExactly(_handle, header, 0, "digest");
        return header.AsSpan(0, 8).SequenceEqual(Magic)
            && BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8)) == Version
            && BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12)) == RegionDigest.RegionBytes
            && BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16)) == _diskBytes
            && header[24] == 1
            && header.AsSpan(32, ImageIdentity.Bytes).SequenceEqual(ImageIdentity.Of(imagePath));
    }

    private void WriteHeader(byte[]? sealedFor)
    {
        var header = new byte[HeaderBytes];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), RegionDigest.RegionBytes);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), _diskBytes);
        if (sealedFor is not null)
        {
            header[24] = 1;
            sealedFor.CopyTo(header, 32);
        }
        RandomAccess.Write(_handle, header, 0);
        if (sealedFor is null)
        {
            // Unsealed must be on disk before the image changes: a crash then means "build it again".
            Posix.Fsync(_handle, "digest");
        }
    }

    /// <summary>Hashes every region of the image (holes without reading them: they are zeros).</summary>
    private void Rebuild(string imagePath)
    {
        Rebuilt = true;
        RandomAccess.SetLength(_handle, HeaderBytes + (Regions * RegionDigest.HashBytes));
        using var image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        UpdateZeros(0, _diskBytes);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            for (var at = PosixFiles.SeekData(image, 0); at >= 0 && at < _diskBytes;)
            {
                var start = at / RegionDigest.RegionBytes * RegionDigest.RegionBytes;
                var holeAt = Math.Min(_diskBytes, PosixFiles.SeekHole(image, at));
                var end = Math.Min(_diskBytes, (holeAt + RegionDigest.RegionBytes - 1) / RegionDigest.RegionBytes * RegionDigest.RegionBytes);
                for (var offset = start; offset < end; offset += buffer.Length)
                {
                    var n = (int)Math.Min(buffer.Length, end - offset);
                    FileReads.ReadExactly(image, buffer.AsSpan(0, n), offset, imagePath);
                    Update(offset, buffer.AsSpan(0, n));
                }
                at = end >= _diskBytes ? -1 : PosixFiles.SeekData(image, end);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
