using Ferry.Disks.Interop;

namespace Ferry.Snapshot;

/// <summary>
/// The snapshots a provider has created and not yet removed, one name per line in
/// <c>STATE/FILE</c> (mode 0600). A name is added before the snapshot is created and removed after
/// it is gone, so that whatever a run that died left behind is found and removed by the next one.
/// </summary>
public sealed class SnapshotRecord(string directory, string file)
{
    private static readonly SemaphoreSlim Lock = new(1, 1);

    public string Path => System.IO.Path.Combine(directory, file);

    public HashSet<string> Read() => File.Exists(Path) ? [.. File.ReadAllLines(Path).Where(l => l.Length > 0)] : [];

    public Task AddAsync(string name) => ChangeAsync(names => names.Add(name));

    public Task RemoveAsync(IEnumerable<string> names) => ChangeAsync(set => set.ExceptWith(names));

    private async Task ChangeAsync(Action<HashSet<string>> change)
    {
        await Lock.WaitAsync();
        try
        {
            var names = Read();
            change(names);
            Directory.CreateDirectory(directory);
            PrivateFile.Write(Path, string.Concat(names.Select(n => n + "\n")));
        }
        finally
        {
            Lock.Release();
        }
    }
}
