namespace Ferry.Tests;

/// <summary>
/// Preconditions of tests that use the real system. A missing one fails the test with a message
/// naming it: such tests are never skipped silently.
/// </summary>
internal static class Requires
{
    public static void Tool(string name)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Concat(["/usr/sbin", "/sbin"])
            .Any(dir => File.Exists(System.IO.Path.Combine(dir, name)));
        if (!found)
        {
            throw new InvalidOperationException($"this test needs the '{name}' command; `make test` installs it from Debian packages");
        }
    }

    public static void Root()
    {
        if (!Ferry.Disks.Interop.Posix.IsRoot)
        {
            throw new InvalidOperationException("this test needs root (owners, device nodes, loop devices, mount): run `sudo make test`");
        }
    }

    public static void RootAndLoopDevices()
    {
        Root();
        if (!File.Exists("/dev/loop-control"))
        {
            throw new InvalidOperationException("this test needs loop devices (/dev/loop-control is missing; load the loop module)");
        }
        Tool("losetup");
        Tool("partx");
    }
}
