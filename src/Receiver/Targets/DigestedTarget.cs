namespace Ferry.Receiver.Targets;

/// <summary>
/// An incremental job's working image with its <see cref="DigestFile"/>: every write updates the
/// hashes of the regions it covers, and closing the image seals the digest, so that the next
/// session of the job (the next cycle, or the same cycle after a lost connection) trusts it.
/// </summary>
public sealed class DigestedTarget : IDiskTarget
{
    private readonly ImageFileTarget _image;
    private bool _closed;

    private DigestedTarget(ImageFileTarget image, DigestFile digest)
    {
        _image = image;
        Digest = digest;
    }

    public DigestFile Digest { get; }

    public long SizeBytes => _image.SizeBytes;

    public string Path => _image.Path;

    /// <summary>Opens (or creates, sparse) the working image at <paramref name="path"/> and its digest beside it.</summary>
    public static DigestedTarget Open(string path, long sizeBytes)
    {
        if (!File.Exists(path) || new FileInfo(path).Length != sizeBytes)
        {
            ImageFileTarget.Create(path, sizeBytes).Publish();
        }
        var image = ImageFileTarget.OpenInPlace(path);
        try
        {
            return new DigestedTarget(image, DigestFile.Open(DigestPath(path), path, sizeBytes));
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    public static string DigestPath(string imagePath) => System.IO.Path.ChangeExtension(imagePath, ".digest");

    /// <summary>Bytes the image occupies on the receiver's disk.</summary>
    public long AllocatedBytes => _image.AllocatedBytes;

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        _image.Write(offset, data);
        Digest.Update(offset, data);
    }

    public void WriteZeros(long offset, long length)
    {
        _image.WriteZeros(offset, length);
        Digest.UpdateZeros(offset, length);
    }

    public void Flush() => _image.Flush();

    public void ReadBack(long offset, Span<byte> buffer) => _image.ReadBack(offset, buffer);

    public void DropCache() => _image.DropCache();

    /// <summary>Flushes the image and seals the digest: what a cycle copies from is then stable.</summary>
    public void Publish() => Close();

    public void Dispose()
    {
        try
        {
            Close();
        }
        catch (IOException)
        {
            // Left unsealed: the next session builds the digest again from the image.
        }
        finally
        {
            _image.Dispose();
            Digest.Dispose();
        }
    }

    private void Close()
    {
        if (_closed)
        {
            return;
        }
        _image.Flush();
        Digest.Seal(Path);
        _closed = true;
    }
}
