using Ferry.Control.Model;
using Ferry.Transfer.Errors;
using Microsoft.Data.Sqlite;

namespace Ferry.Control.Store;

/// <summary>Source servers: listing, heartbeats, going offline, deletion.</summary>
public sealed partial class SqliteControlStore
{
    public IReadOnlyList<SourceServer> ListSources()
    {
        using var c = Open();
        return Query(c, null, "SELECT * FROM sources ORDER BY registered_at", MapSource);
    }

    public SourceServer? GetSource(string id)
    {
        using var c = Open();
        return Query(c, null, "SELECT * FROM sources WHERE id = $id", MapSource, ("$id", id)).SingleOrDefault();
    }

    public SourceServer? FindSourceByAgentToken(string agentTokenHash)
    {
        using var c = Open();
        return Query(c, null, "SELECT * FROM sources WHERE agent_token_hash = $t", MapSource, ("$t", agentTokenHash)).SingleOrDefault();
    }

    public void DeleteSource(string id)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        if (Query(c, tx, "SELECT id FROM sources WHERE id = $id", r => r.GetString(0), ("$id", id)).Count == 0)
        {
            throw new ControlException(ErrorCode.NotFound, $"there is no source {id}");
        }
        var unfinished = Query(c, tx, "SELECT id, state FROM jobs WHERE source_id = $id AND state NOT IN ('Finished', 'Expired', 'Deleting')",
            r => (Id: r.GetString(0), State: r.GetString(1)), ("$id", id));
        if (unfinished.Count > 0)
        {
            throw new ControlException(ErrorCode.InvalidState, $"source {id} has job {unfinished[0].Id}, which is {unfinished[0].State}",
                "Cancel the job first (ferry job cancel).");
        }
        Execute(c, tx, "DELETE FROM jobs WHERE source_id = $id", ("$id", id));
        Execute(c, tx, "DELETE FROM sources WHERE id = $id", ("$id", id));
        tx.Commit();
    }

    public SourceServer Heartbeat(string sourceId, double cpuPercent, long memoryUsedBytes, string agentVersion, DateTimeOffset now)
    {
        using var c = Open();
        Execute(c, null, """
            UPDATE sources SET last_heartbeat = $now, cpu_percent = $cpu, memory_used = $mem, agent_version = $v,
                state = CASE WHEN state = 'Offline' THEN
                    (CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE source_id = $id AND state = 'Running') THEN 'InUse' ELSE 'Available' END)
                    ELSE state END
            WHERE id = $id
            """, ("$now", Unix(now)), ("$cpu", cpuPercent), ("$mem", memoryUsedBytes), ("$v", agentVersion), ("$id", sourceId));
        return Query(c, null, "SELECT * FROM sources WHERE id = $id", MapSource, ("$id", sourceId)).Single();
    }

    public IReadOnlyList<string> MarkOffline(DateTimeOffset cutoff)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var ids = Query(c, tx, "SELECT id FROM sources WHERE last_heartbeat < $cut AND state <> 'Offline'", r => r.GetString(0), ("$cut", Unix(cutoff)));
        Execute(c, tx, "UPDATE sources SET state = 'Offline' WHERE last_heartbeat < $cut AND state <> 'Offline'", ("$cut", Unix(cutoff)));
        tx.Commit();
        return ids;
    }

    public void SetSourceState(string sourceId, SourceState state)
    {
        using var c = Open();
        Execute(c, null, "UPDATE sources SET state = $s WHERE id = $id AND state <> 'Offline'", ("$s", state.ToString()), ("$id", sourceId));
    }

    private static SourceServer? FindByIdentity(SqliteConnection c, SqliteTransaction tx, string identity) =>
        Query(c, tx, "SELECT * FROM sources WHERE identity = $i", MapSource, ("$i", identity)).SingleOrDefault();

    private static SourceServer MapSource(SqliteDataReader r) => new(
        Str(r, "id"), Str(r, "identity"), Str(r, "hostname"), Enum.Parse<SourceState>(Str(r, "state")), Str(r, "agent_version"),
        Time(r, "registered_at"), Time(r, "last_heartbeat"), r.GetDouble(r.GetOrdinal("cpu_percent")), r.GetInt64(r.GetOrdinal("memory_used")),
        Str(r, "inventory"), NullableStr(r, "activated_with"));
}
