namespace Ferry.Snapshot;

/// <summary>
/// The other half of a bounded freeze: a separate process that thaws the filesystems if the agent
/// cannot. It opens the mount points, says <c>ready</c>, and waits for the agent to say <c>thawed</c>
/// on its standard input. If the input ends first (the agent died: the kernel closes the pipe, even
/// after kill -9) or the bound passes, it thaws every one of them. It writes to no file, so a frozen
/// filesystem never blocks it.
/// </summary>
public static class ThawWatchdog
{
    public const string Ready = "ready";
    public const string Thawed = "thawed";

    /// <returns>0 when the agent thawed; 1 when the watchdog had to.</returns>
    public static async Task<int> RunAsync(IReadOnlyList<string> mountPoints, TimeSpan bound, TextReader input, TextWriter output)
    {
        using var filesystems = FrozenFilesystems.Open(mountPoints);
        await output.WriteLineAsync(Ready);
        await output.FlushAsync();
        using var timeout = new CancellationTokenSource(bound);
        string? line;
        try
        {
            line = await input.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }
        if (line == Thawed)
        {
            return 0;
        }
        var thawed = filesystems.ThawAll();
        await output.WriteLineAsync((timeout.IsCancellationRequested ? "the freeze bound passed" : "the agent is gone") +
            $": thawed {(thawed.Count == 0 ? "nothing (none was frozen)" : string.Join(", ", thawed))}");
        return 1;
    }
}
