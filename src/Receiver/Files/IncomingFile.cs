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

    /// <summary>New bytes a patched file may hold back until its checksum verified.</summary>
    public const int MaxPatchBytes = 1 << 20;

    private readonly XxHash3 _hash = new();
    private readonly Func<SafeFileHandle>? _stage;
    private readonly List<(long Offset, byte[] Data)> _patches = [];
    private SafeFileHandle? _temp;
    private long _patchBytes;
    private long _position;
    private long _writtenEnd;

    /// <param name="temp">Where the new content goes; null to patch <paramref name="basis"/> in place (see <see cref="Patching"/>).</param>
    /// <param name="stage">Makes the staged file a patched file falls back to.</param>
    public IncomingFile(ulong id, FileEntry entry, byte[] parent, byte[] name, SafeFileHandle? temp, SafeFileHandle? basis, long basisSize, int blockSize,
        Func<SafeFileHandle>? stage = null)
    {
        Id = id;
        TempName = TempNameOf(id);
        Entry = entry;
        Parent = parent;
        Name = name;
        _temp = temp;
        _stage = stage;
        Basis = basis;
        BasisSize = basisSize;
        BlockSize = blockSize;
    }

    /// <summary>
    /// The delta so far keeps every block of the old copy where it was (an appended log, a file edited in place): the
    /// new bytes are held back, and once the checksum verified they are written into the old copy itself, which is then
    /// cut to length. Nothing of the old copy is rewritten, and nothing changes if the content does not verify. The
    /// first block that moves, more than <see cref="MaxPatchBytes"/> of new bytes, or a gap, makes it a staged file
    /// like any other (built from the old copy and the bytes held back).
    /// </summary>
    public bool Patching => _temp is null;

    /// <summary>Began as a patch of the old copy (counted against the patches allowed in flight, whatever it became).</summary>
    public bool CountsAsPatch { get; init; }

    /// <summary>What the target held before (a patched file keeps its owner, mode and xattrs until they are set).</summary>
    public FileStatus? Existing { get; init; }

    public ulong Id { get; }

    public FileEntry Entry { get; }

    public byte[] Parent { get; }

    public byte[] Name { get; }

    /// <summary>Its name in the staging directory while it arrives.</summary>
    public byte[] TempName { get; }

    public static byte[] TempNameOf(ulong id) => System.Text.Encoding.ASCII.GetBytes(id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The new content's descriptor: the staged or new file, or the old copy being patched.</summary>
    public SafeFileHandle Temp => _temp ?? Basis!;

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
        if (offset > _position)
        {
            // A gap is zeros: in the old copy, only a rewrite makes them so.
            Stage();
        }
        SkipTo(offset);
        Write(data);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        if (Patching && _patchBytes + data.Length > MaxPatchBytes)
        {
            Stage();
        }
        _hash.Append(data);
        if (Patching)
        {
            _patches.Add((_position, data.ToArray()));
            _patchBytes += data.Length;
            _position += data.Length;
            return;
        }
        Emit(data, _position);
        _position += data.Length;
    }

    /// <summary>Writes content that starts at <paramref name="at"/> into a new file, leaving its zero pages unwritten (holes).</summary>
    private void Emit(ReadOnlySpan<byte> data, long at)
    {
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
            PosixFiles.WriteAt(_temp!, data[start..end], at + start);
            _writtenEnd = Math.Max(_writtenEnd, at + end);
            start = end;
        }
    }

    public void CopyBlocks(int block, int count)
    {
        var offset = (long)block * BlockSize;
        var end = Math.Min(BasisSize, (long)(block + count) * BlockSize);
        if (Patching && offset != _position)
        {
            Stage();
        }
        // Blocks that stay where they are in a patched file are only hashed.
        var keep = Patching;
        ReadBasis(offset, end, data =>
        {
            _hash.Append(data);
            if (!keep)
            {
                Emit(data, _position);
            }
            _position += data.Length;
        });
    }

    /// <summary>Hands the old copy's bytes [<paramref name="offset"/>, <paramref name="end"/>) to <paramref name="use"/>, a pooled buffer at a time.</summary>
    private void ReadBasis(long offset, long end, Action<ReadOnlySpan<byte>> use)
    {
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
                use(buffer.AsSpan(0, got));
                offset += got;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A patched file becomes a staged one: the content so far (old blocks in place, new bytes held back) is written to it.</summary>
    private void Stage()
    {
        if (!Patching)
        {
            return;
        }
        _temp = _stage!();
        long at = 0;
        foreach (var (offset, data) in _patches)
        {
            ReadBasis(at, offset, kept =>
            {
                Emit(kept, at);
                at += kept.Length;
            });
            Emit(data, offset);
            at = offset + data.Length;
        }
        ReadBasis(at, _position, kept =>
        {
            Emit(kept, at);
            at += kept.Length;
        });
        _patches.Clear();
        _patchBytes = 0;
    }

    /// <summary>Completes the content at <paramref name="size"/> bytes; true when it hashes to <paramref name="checksum"/>.</summary>
    public bool Finish(long size, ulong checksum)
    {
        if (size < _position)
        {
            throw new ProtocolException($"file ends at {size} but {_position} bytes were written");
        }
        if (size > _position)
        {
            Stage();
        }
        SkipTo(size);
        var verified = !Damaged && _hash.GetCurrentHashAsUInt64() == checksum;
        if (Patching)
        {
            // Only a verified patch touches the old copy.
            if (verified)
            {
                foreach (var (offset, data) in _patches)
                {
                    PosixFiles.WriteAt(Basis!, data, offset);
                }
                if (size != BasisSize)
                {
                    PosixFiles.Truncate(Basis!, size);
                }
            }
            return verified;
        }
        if (_writtenEnd != size)
        {
            // A trailing hole: the file's length is more than was written.
            PosixFiles.Truncate(Temp, size);
        }
        return verified;
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
        _temp?.Dispose();
        Basis?.Dispose();
    }
}
