using System.Buffers.Binary;
using Ferry.Disks.Files;

namespace Ferry.Receiver.Targets;

/// <summary>
/// What identifies one state of an image file on the receiver: its inode, size, modification and
/// change times. Any write to the file (a mount, a loop device writing through it, a tool) changes
/// them, so a record sealed with the identity is trusted only while nothing touched the image.
/// </summary>
public static class ImageIdentity
{
    public const int Bytes = 48;

    public static byte[] Of(string imagePath)
    {
        using var image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var s = PosixFiles.Stat(image);
        var id = new byte[Bytes];
        BinaryPrimitives.WriteUInt64LittleEndian(id, s.Inode);
        BinaryPrimitives.WriteInt64LittleEndian(id.AsSpan(8), s.Size);
        BinaryPrimitives.WriteInt64LittleEndian(id.AsSpan(16), s.Modify.Seconds);
        BinaryPrimitives.WriteInt64LittleEndian(id.AsSpan(24), s.Modify.Nanoseconds);
        BinaryPrimitives.WriteInt64LittleEndian(id.AsSpan(32), s.Change.Seconds);
        BinaryPrimitives.WriteInt64LittleEndian(id.AsSpan(40), s.Change.Nanoseconds);
        return id;
    }
}
