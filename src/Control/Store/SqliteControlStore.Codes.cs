using Ferry.Control.Model;
using Ferry.Control.Security;
using Ferry.Transfer.Errors;
using Microsoft.Data.Sqlite;

namespace Ferry.Control.Store;

/// <summary>Activation codes and AccessKeys, and registration with either.</summary>
public sealed partial class SqliteControlStore
{
    public void AddCode(ActivationCode code, string secretHash)
    {
        using var c = Open();
        Execute(c, null, """
            INSERT INTO codes (id, secret_hash, quota, used, created_at, expires_at, revoked, description)
            VALUES ($id, $h, $q, 0, $c, $e, 0, $d)
            """, ("$id", code.Id), ("$h", secretHash), ("$q", code.Quota), ("$c", Unix(code.CreatedAt)), ("$e", Unix(code.ExpiresAt)), ("$d", code.Description));
    }

    public IReadOnlyList<ActivationCode> ListCodes()
    {
        using var c = Open();
        return Query(c, null, "SELECT * FROM codes ORDER BY created_at", r => new ActivationCode(
            Str(r, "id"), r.GetInt32(r.GetOrdinal("quota")), r.GetInt32(r.GetOrdinal("used")), Time(r, "created_at"), Time(r, "expires_at"),
            r.GetInt64(r.GetOrdinal("revoked")) != 0, NullableStr(r, "description")));
    }

    public bool RevokeCode(string id)
    {
        using var c = Open();
        return Execute(c, null, "UPDATE codes SET revoked = 1 WHERE id = $id", ("$id", id)) == 1;
    }

    public SourceServer ActivateWithCode(string codeId, string secret, Registration registration, string agentTokenHash, DateTimeOffset now)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var code = Query(c, tx, "SELECT secret_hash, quota, used, expires_at, revoked FROM codes WHERE id = $id",
            r => (Hash: Str(r, "secret_hash"), Quota: r.GetInt32(1), Used: r.GetInt32(2), Expires: Time(r, "expires_at"), Revoked: r.GetInt64(4) != 0),
            ("$id", codeId)).SingleOrDefault();
        // An unknown id and a wrong secret are the same answer: the caller learns nothing about which codes exist.
        if (code == default || !Secrets.Matches(secret, code.Hash))
        {
            throw new ControlException(ErrorCode.CodeUnknown, "the activation code is not known to this control plane",
                "Copy the whole activation command again from `ferry code create` (id and secret).");
        }
        if (code.Revoked)
        {
            throw new ControlException(ErrorCode.CodeRevoked, $"activation code {codeId} has been revoked", "Ask the operator for a new code.");
        }
        if (code.Expires <= now)
        {
            throw new ControlException(ErrorCode.CodeExpired, $"activation code {codeId} expired on {code.Expires:yyyy-MM-dd HH:mm} UTC", "Ask the operator for a new code.");
        }

        var existing = FindByIdentity(c, tx, registration.Identity);
        if (existing is null)
        {
            var taken = Execute(c, tx, "UPDATE codes SET used = used + 1 WHERE id = $id AND used < quota", ("$id", codeId));
            if (taken != 1)
            {
                throw new ControlException(ErrorCode.CodeExhausted, $"activation code {codeId} has imported its {code.Quota} source(s) already",
                    "Ask the operator for a new code or a higher quota.");
            }
        }
        var source = Upsert(c, tx, existing, registration, agentTokenHash, "code:" + codeId, now);
        tx.Commit();
        return source;
    }

    public void AddAccessKey(AccessKey key, string sealedSecret)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO access_keys (id, sealed_secret, created_at, description) VALUES ($id, $s, $c, $d)",
            ("$id", key.Id), ("$s", sealedSecret), ("$c", Unix(key.CreatedAt)), ("$d", key.Description));
    }

    public IReadOnlyList<AccessKey> ListAccessKeys()
    {
        using var c = Open();
        return Query(c, null, "SELECT id, created_at, description FROM access_keys ORDER BY created_at",
            r => new AccessKey(Str(r, "id"), Time(r, "created_at"), NullableStr(r, "description")));
    }

    public bool DeleteAccessKey(string id)
    {
        using var c = Open();
        return Execute(c, null, "DELETE FROM access_keys WHERE id = $id", ("$id", id)) == 1;
    }

    public string? GetAccessKeySecret(string id)
    {
        using var c = Open();
        return Scalar(c, null, "SELECT sealed_secret FROM access_keys WHERE id = $id", ("$id", id)) as string;
    }

    public SourceServer RegisterWithAccessKey(string accessKeyId, Registration registration, string agentTokenHash, DateTimeOffset now)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var source = Upsert(c, tx, FindByIdentity(c, tx, registration.Identity), registration, agentTokenHash, "accesskey:" + accessKeyId, now);
        tx.Commit();
        return source;
    }

    /// <summary>A new source, or the same source re-imported (same id, new credential, fresh inventory).</summary>
    private static SourceServer Upsert(SqliteConnection c, SqliteTransaction tx, SourceServer? existing, Registration reg, string tokenHash, string activatedWith,
        DateTimeOffset now)
    {
        if (existing is not null)
        {
            var busy = Scalar(c, tx, "SELECT COUNT(*) FROM jobs WHERE source_id = $id AND state = 'Running'", ("$id", existing.Id)) is long n && n > 0;
            Execute(c, tx, """
                UPDATE sources SET hostname = $h, agent_version = $v, inventory = $inv, agent_token_hash = $t, last_heartbeat = $now, state = $s
                WHERE id = $id
                """, ("$h", reg.Hostname), ("$v", reg.AgentVersion), ("$inv", reg.Inventory), ("$t", tokenHash), ("$now", Unix(now)),
                ("$s", (busy ? SourceState.InUse : SourceState.Available).ToString()), ("$id", existing.Id));
            return FindByIdentity(c, tx, reg.Identity)!;
        }
        var id = Secrets.NewId("s-");
        Execute(c, tx, """
            INSERT INTO sources (id, identity, hostname, state, agent_version, registered_at, last_heartbeat, cpu_percent, memory_used, inventory, activated_with, agent_token_hash)
            VALUES ($id, $i, $h, 'Available', $v, $now, $now, 0, 0, $inv, $a, $t)
            """, ("$id", id), ("$i", reg.Identity), ("$h", reg.Hostname), ("$v", reg.AgentVersion), ("$now", Unix(now)), ("$inv", reg.Inventory),
            ("$a", activatedWith), ("$t", tokenHash));
        return FindByIdentity(c, tx, reg.Identity)!;
    }
}
