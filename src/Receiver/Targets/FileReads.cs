using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Targets;

/// <summary>Positional reads of the receiver's own files (images, digests), where a short file is an I/O error.</summary>
public static class FileReads
{
    /// <summary>Reads exactly the buffer's length at <paramref name="offset"/>; a file that ends first is an IOException naming it.</summary>
    public static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string name)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0)
            {
                throw new IOException($"{name}: unexpected end of file at {offset + done}");
            }
            done += n;
        }
    }
}
