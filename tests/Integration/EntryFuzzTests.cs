using System.Diagnostics;
using System.IO.Hashing;
using Ferry.Receiver.Files;
using Ferry.Transfer.Errors;
using Ferry.Transfer.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Integration;

/// <summary>
/// The receiver's file-entry decoder and tree applier under hostile entries (<see cref="EntryFuzzer"/>),
/// decoded and applied as the data channel does: nothing may crash, nothing may be written outside the
/// target root (a sentinel directory beside it, and /etc), memory stays bounded, and every refusal
/// carries a stable code. Root is needed (owners, device nodes), as the receiver runs.
/// </summary>
// Alone, as the loop-device tests run: it keeps the cores busy, which timing-sensitive tests beside it would feel.
[Collection("loop devices")]
public sealed class EntryFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] RefusalCodes = ["E_PATH_UNSAFE", "E_PROTOCOL", "E_RECEIVER_WRITE"];

    [Fact]
    public void HostileEntries_NoCrash_NothingOutsideTheRoot_ACodeForEveryRefusal()
    {
        Requires.Root();
        var count = int.Parse(Environment.GetEnvironmentVariable("FERRY_FUZZ_ENTRIES") ?? "50000", System.Globalization.CultureInfo.InvariantCulture);
        var seed = int.Parse(Environment.GetEnvironmentVariable("FERRY_FUZZ_SEED") ?? "20261127", System.Globalization.CultureInfo.InvariantCulture);
        using var dir = new TempDir();
        var outside = Directory.CreateDirectory(dir["outside"]).FullName;
        File.WriteAllText(Path.Combine(outside, "sentinel"), "untouched");
        var root = Directory.CreateDirectory(dir["root"]).FullName;
        var fuzzer = new EntryFuzzer(seed, outside);
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        var (applied, peakManaged) = (0, 0L);
        var clock = Stopwatch.StartNew();
        var applier = new TreeApplier(root, posixMetadata: true, NullLogger.Instance);
        try
        {
            applier.Apply(new FileEntry { Kind = FileKind.Directory, Mode = 0x1ED }, 0);
            for (var i = 1; i <= count; i++)
            {
                var (payload, entry) = fuzzer.Next();
                try
                {
                    ApplyAsTheDataChannelDoes(applier, fuzzer, payload, (ulong)i);
                    applied++;
                    fuzzer.Applied(entry);
                }
                catch (Exception e) when (e is FerryException or IOException)
                {
                    var code = e is FerryException f ? ErrorCodes.Name(f.Code) : "E_RECEIVER_WRITE";
                    if (Environment.GetEnvironmentVariable("FERRY_FUZZ_DEBUG") is not null && e is not FerryException)
                    {
                        output.WriteLine(e.Message);
                    }
                    codes[code] = codes.GetValueOrDefault(code) + 1;
                    // A refused entry ends its connection; the next one starts afresh on the same tree.
                    applier.Dispose();
                    applier = new TreeApplier(root, posixMetadata: true, NullLogger.Instance);
                    applier.Apply(new FileEntry { Kind = FileKind.Directory, Mode = 0x1ED }, 0);
                }
                if (i % 1000 == 0)
                {
                    peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
                }
            }
        }
        finally
        {
            applier.Dispose();
        }

        output.WriteLine($"seed {seed}: {count:N0} entries in {clock.Elapsed.TotalSeconds:0.0} s; {applied:N0} applied; " +
            $"refused: {string.Join(", ", codes.Select(kv => $"{kv.Key} {kv.Value:N0}"))}; peak managed heap {peakManaged >> 20} MiB");
        Assert.All(codes.Keys, c => Assert.Contains(c, RefusalCodes));
        Assert.True(codes.GetValueOrDefault("E_PATH_UNSAFE") > 0 && codes.GetValueOrDefault("E_PROTOCOL") > 0, "the fuzzer hardly reached the checks");
        Assert.True(peakManaged < 256L << 20, $"the managed heap grew to {peakManaged >> 20} MiB");
        Assert.Equal(["sentinel"], Directory.GetFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Equal("untouched", File.ReadAllText(Path.Combine(outside, "sentinel")));
        Assert.Equal(["outside", "root"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
        Assert.False(File.Exists("/etc/ferry-fuzz-escape"), "an entry escaped to /etc");
        Assert.True(Directory.GetFileSystemEntries(root).Length > 0, "nothing at all was applied");
    }

    /// <summary>Decode, apply, and for a regular file send content and end it, as FileFrameHandler does.</summary>
    private static void ApplyAsTheDataChannelDoes(TreeApplier applier, EntryFuzzer fuzzer, byte[] payload, ulong id)
    {
        FileEntry entry;
        try
        {
            entry = FileEntry.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ProtocolException("a file entry does not parse: " + e.Message);
        }
        if (applier.Apply(entry, id) is null)
        {
            return;
        }
        var content = fuzzer.Content((int)Math.Min(entry.Size, 8192));
        applier.Write(id, 0, content);
        applier.End(id, content.Length, XxHash3.HashToUInt64(content), vanished: false);
    }
}
