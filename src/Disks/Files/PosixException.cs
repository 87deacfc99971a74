namespace Ferry.Disks.Files;

/// <summary>A system call on a file failed; <see cref="Errno"/> says why, the message names the file.</summary>
public sealed class PosixException : IOException
{
    public const int NoEntry = 2;
    public const int Exists = 17;
    public const int CrossDevice = 18;
    public const int NotDirectory = 20;
    public const int IsDirectory = 21;
    public const int NoSpace = 28;
    public const int NoSystemCall = 38;
    public const int NotEmpty = 39;
    public const int Loop = 40;
    public const int NoData = 61;
    public const int NotSupported = 95;

    public PosixException(int errno, string operation, string path)
        : base($"{operation} {path}: {Interop.Libc.Describe(errno)}")
    {
        Errno = errno;
        HResult = errno;
    }

    public PosixException()
    {
    }

    public PosixException(string message)
        : base(message)
    {
    }

    public PosixException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int Errno { get; }
}
