using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Ferry.Disks;
using Ferry.Disks.Interop;
using Ferry.Transfer.Blocks;

namespace Ferry.Agent.Migration;

/// <summary>
/// The breakpoint of a block migration, kept in the agent's directory (<c>Checkpoints/KEY.json</c>,
/// mode 0600, replaced atomically): the receiver's session and, per disk, the position up to which the
/// receiver acknowledged everything as durable. A run of the same migration (same receiver, source
/// name and disks) starts from it; a disk whose plan of used blocks changed in between starts over.
/// </summary>
public sealed record BlockCheckpoint(string SessionId, List<BlockCheckpointDisk> Disks)
{
    /// <summary>Where the checkpoint of a migration of <paramref name="disks"/> from <paramref name="source"/> to <paramref name="receiver"/> lives.</summary>
    public static string PathFor(string home, string receiver, string source, IEnumerable<string> disks)
    {
        var key = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(string.Join('\n', [receiver, source, .. disks])));
        return Path.Combine(home, "Checkpoints", $"{source}-{key:x16}.json");
    }

    /// <summary>A digest of a disk's planned ranges: a resume is only valid for the same plan.</summary>
    public static string PlanDigest(IEnumerable<ByteRange> ranges)
    {
        var hash = new XxHash3();
        Span<byte> pair = stackalloc byte[16];
        foreach (var r in ranges)
        {
            BitConverter.TryWriteBytes(pair, r.Offset);
            BitConverter.TryWriteBytes(pair[8..], r.Length);
            hash.Append(pair);
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    public static BlockCheckpoint? Load(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), AgentJsonContext.Default.BlockCheckpoint) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Removes the breakpoint, if there is one (the run finished, or the job was cancelled).</summary>
    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        PrivateFile.Write(path, JsonSerializer.Serialize(this, AgentJsonContext.Default.BlockCheckpoint));
    }

    /// <summary>Where each of <paramref name="sources"/> resumes: its saved position when the disk and its plan are the same, else 0.</summary>
    public Dictionary<uint, long> StartFor(IReadOnlyList<DiskSource> sources) =>
        sources.ToDictionary(s => s.Index, s => Disks.FirstOrDefault(d => d.Index == s.Index) is { } saved
            && saved.Name == s.Name && saved.SizeBytes == s.SizeBytes && saved.Plan == PlanDigest(s.Ranges)
            ? Math.Clamp(saved.Position, 0, s.SizeBytes) : 0);

    public static BlockCheckpoint Of(string sessionId, IReadOnlyList<DiskSource> sources, IReadOnlyDictionary<uint, long> positions) =>
        new(sessionId, sources.Select(s => new BlockCheckpointDisk(s.Index, s.Name, s.SizeBytes, PlanDigest(s.Ranges), positions.GetValueOrDefault(s.Index))).ToList());
}
