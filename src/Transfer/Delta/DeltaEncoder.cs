using System.Buffers;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Transfer.Delta;

/// <summary>
/// The agent's half of rsync's algorithm: slides a window of the receiver's block size over the new
/// file; where the window's checksums match a block of the receiver's copy, it says "copy that
/// block", elsewhere it sends the bytes. Memory is one read buffer whatever the file's size, from the pool
/// (a repeat sync encodes hundreds of small files; a new 2.5 MiB of buffers each was most of the agent's garbage).
/// </summary>
public sealed class DeltaEncoder : IDisposable
{
    /// <summary>Literal bytes are cut into pieces no longer than this.</summary>
    public const int MaxLiteral = 256 << 10;

    private const int ReadChunk = 1 << 20;

    private readonly SignatureIndex _index;
    private readonly int _block;
    private readonly byte[] _buffer;
    private readonly byte[] _ops;
    private readonly int _opCapacity;
    private int _opLength;
    private long _bufferStart;
    private int _bufferLength;
    private long _fileLength;
    private long _position;
    private long _literalStart;
    private RollingChecksum _weak;
    private bool _haveWeak;
    private int _pendingCopyBlock = -1;
    private int _pendingCopyCount;
    private bool _disposed;

    /// <param name="opBufferBytes">How many instruction bytes make one Delta frame.</param>
    public DeltaEncoder(SignatureIndex index, int opBufferBytes = 1 << 20)
    {
        _index = index;
        _block = index.BlockSize;
        _buffer = ArrayPool<byte>.Shared.Rent(MaxLiteral + (2 * _block) + ReadChunk);
        _opCapacity = Math.Max(opBufferBytes, MaxLiteral + 64);
        _ops = ArrayPool<byte>.Shared.Rent(_opCapacity);
    }

    /// <summary>The bytes encoded: the file's length, or less when it shrank while being read.</summary>
    public long Length => _fileLength;

    /// <summary>Bytes sent as literals (the rest was copied from the receiver's copy).</summary>
    public long LiteralBytes { get; private set; }

    /// <summary>
    /// Encodes <paramref name="length"/> bytes of <paramref name="file"/>; <paramref name="emit"/> gets each
    /// full instruction buffer (valid until it returns). Every byte read is added to <paramref name="content"/>.
    /// </summary>
    public async Task EncodeAsync(SafeFileHandle file, long length, XxHash3 content, Func<ReadOnlyMemory<byte>, ValueTask> emit,
        CancellationToken ct)
    {
        _fileLength = length;
        while (true)
        {
            var needed = Scan();
            if (_opLength > 0 && (needed == Need.FlushOps || needed == Need.Done))
            {
                await emit(_ops.AsMemory(0, _opLength));
                _opLength = 0;
            }
            if (needed == Need.Done)
            {
                return;
            }
            if (needed == Need.Data)
            {
                ct.ThrowIfCancellationRequested();
                var got = Fill(file);
                if (got == 0)
                {
                    // The file shrank while being read: what was read is what is sent; the caller sees the change.
                    _fileLength = _bufferStart + _bufferLength;
                }
                else
                {
                    content.Append(_buffer.AsSpan(_bufferLength - got, got));
                }
            }
        }
    }

    private enum Need
    {
        Data,
        FlushOps,
        Done,
    }

    private Need Scan()
    {
        while (_position + _block <= _fileLength)
        {
            if (_position + _block + 1 > _bufferStart + _bufferLength && _bufferStart + _bufferLength < _fileLength)
            {
                return Need.Data;
            }
            if (!HasRoom(DeltaOps.CopyBytes + DeltaOps.LiteralHeaderBytes + MaxLiteral + DeltaOps.CopyBytes))
            {
                return Need.FlushOps;
            }
            var window = _buffer.AsSpan((int)(_position - _bufferStart), _block);
            if (!_haveWeak)
            {
                _weak = RollingChecksum.Of(window);
                _haveWeak = true;
            }
            var match = _index.Find(_weak.Value, window, _position % _block == 0 ? (int)Math.Min(int.MaxValue, _position / _block) : -1);
            if (match >= 0)
            {
                FlushLiteral(_position);
                AddCopy(match);
                _position += _block;
                _literalStart = _position;
                _haveWeak = false;
                continue;
            }
            if (_position + _block < _fileLength)
            {
                var at = (int)(_position - _bufferStart);
                _weak.Roll(_buffer[at], _buffer[at + _block]);
            }
            _position++;
            if (_position - _literalStart >= MaxLiteral)
            {
                FlushLiteral(_position);
            }
        }

        // Fewer than a block's bytes are left: they may be the basis's short last block, or new bytes.
        if (_bufferStart + _bufferLength < _fileLength)
        {
            return Need.Data;
        }
        if (!HasRoom(DeltaOps.CopyBytes + DeltaOps.LiteralHeaderBytes + MaxLiteral + DeltaOps.CopyBytes))
        {
            return Need.FlushOps;
        }
        var tail = _buffer.AsSpan((int)(_position - _bufferStart), (int)(_fileLength - _position));
        if (!tail.IsEmpty && _index.MatchesLastBlock(tail))
        {
            FlushLiteral(_position);
            AddCopy(_index.Count - 1);
            _position = _literalStart = _fileLength;
        }
        FlushLiteral(_fileLength);
        FlushCopy();
        return Need.Done;
    }

    private bool HasRoom(int bytes) => _opCapacity - _opLength >= bytes;

    private void AddCopy(int block)
    {
        if (_pendingCopyCount > 0 && _pendingCopyBlock + _pendingCopyCount == block)
        {
            _pendingCopyCount++;
            return;
        }
        FlushCopy();
        _pendingCopyBlock = block;
        _pendingCopyCount = 1;
    }

    private void FlushCopy()
    {
        if (_pendingCopyCount > 0)
        {
            DeltaOps.WriteCopy(_ops.AsSpan(_opLength), _pendingCopyBlock, _pendingCopyCount);
            _opLength += DeltaOps.CopyBytes;
            _pendingCopyCount = 0;
        }
    }

    private void FlushLiteral(long end)
    {
        var length = (int)(end - _literalStart);
        if (length <= 0)
        {
            return;
        }
        FlushCopy();
        DeltaOps.WriteLiteralHeader(_ops.AsSpan(_opLength), length);
        _buffer.AsSpan((int)(_literalStart - _bufferStart), length).CopyTo(_ops.AsSpan(_opLength + DeltaOps.LiteralHeaderBytes));
        _opLength += DeltaOps.LiteralHeaderBytes + length;
        LiteralBytes += length;
        _literalStart = end;
    }

    /// <summary>
    /// Drops bytes before the pending literal and reads up to one chunk more; returns the bytes read. A plain read on the
    /// caller's thread: ReadAsync of a file hands each read to another thread, a wake-up per small file.
    /// </summary>
    private int Fill(SafeFileHandle file)
    {
        var keepFrom = (int)(_literalStart - _bufferStart);
        if (keepFrom > 0)
        {
            Buffer.BlockCopy(_buffer, keepFrom, _buffer, 0, _bufferLength - keepFrom);
            _bufferStart += keepFrom;
            _bufferLength -= keepFrom;
        }
        var want = (int)Math.Min(_buffer.Length - _bufferLength, _fileLength - (_bufferStart + _bufferLength));
        if (want <= 0)
        {
            return 0;
        }
        var got = RandomAccess.Read(file, _buffer.AsSpan(_bufferLength, want), _bufferStart + _bufferLength);
        _bufferLength += got;
        return got;
    }

    public void Dispose()
    {
        // Once only: a buffer returned twice would be handed to two renters.
        if (!_disposed)
        {
            _disposed = true;
            ArrayPool<byte>.Shared.Return(_buffer);
            ArrayPool<byte>.Shared.Return(_ops);
        }
    }
}
