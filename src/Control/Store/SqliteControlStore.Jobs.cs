using Ferry.Control.Model;
using Ferry.Transfer.Errors;
using Microsoft.Data.Sqlite;

namespace Ferry.Control.Store;

/// <summary>Jobs: one unfinished job per source, optimistic state updates.</summary>
public sealed partial class SqliteControlStore
{
    public void AddJob(MigrationJob job)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        if (Query(c, tx, "SELECT id FROM sources WHERE id = $id", r => r.GetString(0), ("$id", job.SourceId)).Count == 0)
        {
            throw new ControlException(ErrorCode.NotFound, $"there is no source {job.SourceId}", "List sources with `ferry source list`.");
        }
        var other = Query(c, tx, "SELECT id, state FROM jobs WHERE source_id = $id AND state NOT IN ('Finished', 'Expired', 'Deleting')",
            r => (Id: r.GetString(0), State: r.GetString(1)), ("$id", job.SourceId));
        if (other.Count > 0)
        {
            throw new ControlException(ErrorCode.JobConflict, $"source {job.SourceId} already has job {other[0].Id}, which is {other[0].State}",
                "A source has one unfinished job at a time: finish or cancel that one first.");
        }
        Execute(c, tx, """
            INSERT INTO jobs (id, source_id, state, phase, settings, progress, created_at, updated_at, error_code, error_message, images, cycles)
            VALUES ($id, $s, $st, $ph, $set, $pr, $c, $u, $ec, $em, $img, $cy)
            """, Parameters(job));
        tx.Commit();
    }

    public MigrationJob? GetJob(string id)
    {
        using var c = Open();
        return Query(c, null, "SELECT * FROM jobs WHERE id = $id", MapJob, ("$id", id)).SingleOrDefault();
    }

    public IReadOnlyList<MigrationJob> ListJobs(string? sourceId = null)
    {
        using var c = Open();
        return sourceId is null
            ? Query(c, null, "SELECT * FROM jobs ORDER BY created_at", MapJob)
            : Query(c, null, "SELECT * FROM jobs WHERE source_id = $s ORDER BY created_at", MapJob, ("$s", sourceId));
    }

    public bool UpdateJob(MigrationJob job, JobState expected)
    {
        using var c = Open();
        var args = Parameters(job).Append(("$expected", expected.ToString())).ToArray();
        return Execute(c, null, """
            UPDATE jobs SET state = $st, phase = $ph, settings = $set, progress = $pr, updated_at = $u, error_code = $ec, error_message = $em, images = $img,
                cycles = $cy
            WHERE id = $id AND state = $expected
            """, args) == 1;
    }

    private static (string, object?)[] Parameters(MigrationJob job) =>
    [
        ("$id", job.Id), ("$s", job.SourceId), ("$st", job.State.ToString()), ("$ph", job.Phase.ToString()), ("$set", ToJson(job.Settings)),
        ("$pr", ToJson(job.Progress)), ("$c", Unix(job.CreatedAt)), ("$u", Unix(job.UpdatedAt)), ("$ec", job.ErrorCode), ("$em", job.ErrorMessage),
        ("$img", ToJson(job.Images)), ("$cy", ToJson(job.Cycles)),
    ];

    private static MigrationJob MapJob(SqliteDataReader r) => new(
        Str(r, "id"), Str(r, "source_id"), Enum.Parse<JobState>(Str(r, "state")), Enum.Parse<JobPhase>(Str(r, "phase")),
        FromJson<JobSettings>(Str(r, "settings")), FromJson<JobProgress>(Str(r, "progress")), Time(r, "created_at"), Time(r, "updated_at"),
        NullableStr(r, "error_code"), NullableStr(r, "error_message"), FromJson<List<string>>(Str(r, "images")))
    {
        Cycles = Str(r, "cycles") is var cycles && cycles != "{}" ? FromJson<JobCycles>(cycles) : JobCycles.None,
    };
}
