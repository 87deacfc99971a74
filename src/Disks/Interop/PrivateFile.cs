namespace Ferry.Disks.Interop;

/// <summary>
/// Writes a file that holds a secret: created with mode 0600 before any byte is written, flushed to
/// the disk and renamed over the old one, so that a crash leaves the old or the new file, never half of one.
/// </summary>
public static class PrivateFile
{
    public static void Write(string path, string content)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }
}
