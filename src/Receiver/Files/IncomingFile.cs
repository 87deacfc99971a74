using System.Buffers;
using System.IO.Hashing;
using Ferry.Disks.Files;
using Ferry.Transfer.Delta;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>
/// A regular file being received: its new content goes into a new file (at its name, or in the tree's
/// staging directory when it replaces one), written in order and hashed as it goes; runs of zeros are skipped so that holes stay
/// holes. With a basis (the receiver's previous copy) it is rebuilt from delta instructions.
/// </summary>
internal sealed class IncomingFile : IDeltaTarget, IDisposable
{
    private const int Page = 4096;

    private readonly XxHash3 _hash = new();
    private long _position;
    private long _writtenEnd;

    public IncomingFile(ulong id, FileEntry entry, byte[] parent, byte[] name, SafeFileHandle temp, SafeFileHandle? basis, long basisSize, int blockSize)
    {
        Id = id;
        TempName = TempNameOf(id);
        Entry = entry;
        Parent = parent;
        Name = name;
        Temp = temp;
        Basis = basis;
        BasisSize = basisSize;
        BlockSize = blockSize;
    }

    public ulong Id { get; }

    public FileEntry Entry { get; }

    public byte[] Parent { get; }

    public byte[] Name { get; }

    /// <summary>Its name in the staging directory while it arrives.</summary>
    public byte[] TempName { get; }

    public static byte[] TempNameOf(ulong id) => System.Text.Encoding.ASCII.GetBytes(id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public SafeFileHandle Temp { get; }

    public SafeFileHandle? Basis { get; }

    public long BasisSize { get; }

    public int BlockSize { get; }

    public int BlockCount => Basis is null ? 0 : BlockSignature.BlockCount(BasisSize, BlockSize);

    /// <summary>The name was a directory on the target when the file was announced; it goes when the file takes its place.</summary>
    public bool ReplacesDirectory { get; init; }

    /// <summary>A new name, made and written where it belongs (not staged): it needs no rename, and goes by its name if given up.</summary>
    public bool InPlace { get; init; }

    /// <summary>The permission bits it was made with (the mode asked for, less the umask).</summary>
    public uint CreatedMode { get; init; }

    /// <summary>The entry's hash, recorded in the tree's index once the file is in place.</summary>
    public UInt128 Hash { get; init; }

    /// <summary>Whether the file's directory is held open for it (see DirectoryState.InFlight).</summary>
    public bool HoldsParent { get; set; }

    /// <summary>A frame for this file arrived damaged: its content is not trusted and the agent sends it again.</summary>
    public bool Damaged { get; set; }

    public long Position => _position;

    /// <summary>Appends data at <paramref name="offset"/>; the gap since the last write is a hole.</summary>
    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        if (offset < _position)
        {
            throw new ProtocolException($"file data at {offset} goes back before {_position}");
        }
        SkipTo(offset);
        Write(data);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        _hash.Append(data);
        var start = 0;
        while (start < data.Length)
        {
            // Write each run of non-zero pages in one call; leave zero pages unwritten (a hole).
            var length = Math.Min(Page, data.Length - start);
            if (data.Slice(start, length).IndexOfAnyExcept((byte)0) < 0)
            {
                start += length;
                continue;
            }
            var end = start + length;
            while (end < data.Length)
            {
                var next = Math.Min(Page, data.Length - end);
                if (data.Slice(end, next).IndexOfAnyExcept((byte)0) < 0)
                {
                    break;
                }
                end += next;
            }
            PosixFiles.WriteAt(Temp, data[start..end], _position + start);
            _writtenEnd = Math.Max(_writtenEnd, _position + end);
            start = end;
        }
        _position += data.Length;
    }

    public void CopyBlocks(int block, int count)
    {
        var offset = (long)block * BlockSize;
        var end = Math.Min(BasisSize, (long)(block + count) * BlockSize);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (offset < end)
            {
                var want = (int)Math.Min(buffer.Length, end - offset);
                var got = RandomAccess.Read(Basis!, buffer.AsSpan(0, want), offset);
                if (got == 0)
                {
                    throw new IOException("the receiver's previous copy of the file shrank while it was being used");
                }
                Write(buffer.AsSpan(0, got));
                offset += got;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Completes the content at <paramref name="size"/> bytes; true when it hashes to <paramref name="checksum"/>.</summary>
    public bool Finish(long size, ulong checksum)
    {
        if (size < _position)
        {
            throw new ProtocolException($"file ends at {size} but {_position} bytes were written");
        }
        SkipTo(size);
        if (_writtenEnd != size)
        {
            // A trailing hole: the file's length is more than was written.
            PosixFiles.Truncate(Temp, size);
        }
        return !Damaged && _hash.GetCurrentHashAsUInt64() == checksum;
    }

    private void SkipTo(long offset)
    {
        if (offset > _position)
        {
            ContentHash.AppendZeros(_hash, offset - _position);
            _position = offset;
        }
    }

    public void Dispose()
    {
        Temp.Dispose();
        Basis?.Dispose();
    }
}
