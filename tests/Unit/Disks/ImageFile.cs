using Ferry.Disks;

namespace Ferry.Tests.Unit.Disks;

/// <summary>A sparse image file read through <see cref="IByteReader"/>; sfdisk and mkfs work on such files without root.</summary>
internal sealed class ImageFile : IByteReader, IDisposable
{
    private readonly FileStream _stream;

    public ImageFile(string path, long offset = 0, long? length = null)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Offset = offset;
        Length = length ?? _stream.Length - offset;
    }

    public long Offset { get; }

    public long Length { get; }

    public static string Create(string path, long size)
    {
        using var f = File.Create(path);
        f.SetLength(size);
        return path;
    }

    public void ReadExactly(Span<byte> buffer, long offset)
    {
        _stream.Position = Offset + offset;
        _stream.ReadExactly(buffer);
    }

    public byte[] Read(long offset, int length)
    {
        var b = new byte[length];
        ReadExactly(b, offset);
        return b;
    }

    public void Dispose() => _stream.Dispose();
}
