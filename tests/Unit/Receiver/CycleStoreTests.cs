using Ferry.Receiver.Images;
using Xunit;

namespace Ferry.Tests.Unit.Receiver;

/// <summary>The kept cycles of an incremental job: the newest K finished ones stay, a cycle that never finished goes.</summary>
public sealed class CycleStoreTests
{
    [Fact]
    public void Prune_AfterCycleFourKeepingTwo_LeavesTheTwoNewestFinishedAndRemovesTheUnfinished()
    {
        using var dir = new TempDir();
        var source = dir["out/web1"];
        foreach (var (cycle, finished) in new[] { (1, true), (2, true), (3, false), (4, true) })
        {
            Directory.CreateDirectory(CycleStore.DirectoryOf(source, cycle));
            if (finished)
            {
                File.WriteAllText(Path.Combine(CycleStore.DirectoryOf(source, cycle), "manifest.json"), "{}");
            }
        }
        Directory.CreateDirectory(CycleStore.WorkDirectory(source));

        var pruned = CycleStore.Prune(source, cycle: 4, keep: 2);

        Assert.Equal(2, pruned);
        Assert.Equal(["cycle-000002", "cycle-000004"], Directory.GetDirectories(source, "cycle-*").Select(Path.GetFileName).Order().ToList());
        Assert.Equal([2, 4], CycleStore.Finished(source).Select(c => c.Number).ToList());
        Assert.Equal(5, CycleStore.Next(source));
        Assert.True(Directory.Exists(CycleStore.WorkDirectory(source)), "pruning removed the working images");
    }

    [Fact]
    public void DiscardWork_RemovesTheWorkingImagesAndKeepsTheCycles()
    {
        using var dir = new TempDir();
        var source = dir["out/web2"];
        Directory.CreateDirectory(CycleStore.DirectoryOf(source, 1));
        Directory.CreateDirectory(CycleStore.WorkDirectory(source));
        File.WriteAllText(Path.Combine(CycleStore.WorkDirectory(source), "vda.raw"), "");

        CycleStore.DiscardWork(source);
        CycleStore.DiscardWork(source);

        Assert.False(Directory.Exists(CycleStore.WorkDirectory(source)));
        Assert.True(Directory.Exists(CycleStore.DirectoryOf(source, 1)));
        Assert.Equal(2, CycleStore.Next(source));
    }
}
