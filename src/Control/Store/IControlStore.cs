using Ferry.Control.Model;

namespace Ferry.Control.Store;

/// <summary>
/// Everything the control plane keeps. SQLite by default; the interface is what a PostgreSQL
/// store will implement. Every method is atomic: a refused call changes nothing.
/// </summary>
public interface IControlStore
{
    string? GetSetting(string key);

    void SetSetting(string key, string value);

    void AddCode(ActivationCode code, string secretHash);

    IReadOnlyList<ActivationCode> ListCodes();

    /// <summary>Revokes a code; false when there is no such code.</summary>
    bool RevokeCode(string id);

    /// <summary>
    /// Registers a source with an activation code, or re-imports the source of the same identity.
    /// Checks the secret, revocation, expiry and quota, and takes one unit of quota for a new source,
    /// all in one transaction. Returns the source; <paramref name="agentTokenHash"/> becomes its credential.
    /// </summary>
    SourceServer ActivateWithCode(string codeId, string secret, Registration registration, string agentTokenHash, DateTimeOffset now);

    void AddAccessKey(AccessKey key, string sealedSecret);

    IReadOnlyList<AccessKey> ListAccessKeys();

    bool DeleteAccessKey(string id);

    /// <summary>The sealed secret of an AccessKey, or null when unknown.</summary>
    string? GetAccessKeySecret(string id);

    /// <summary>Registers (or re-imports) a source authenticated by an AccessKey: no quota applies.</summary>
    SourceServer RegisterWithAccessKey(string accessKeyId, Registration registration, string agentTokenHash, DateTimeOffset now);

    IReadOnlyList<SourceServer> ListSources();

    SourceServer? GetSource(string id);

    SourceServer? FindSourceByAgentToken(string agentTokenHash);

    /// <summary>Deletes a source without an unfinished job; refuses otherwise.</summary>
    void DeleteSource(string id);

    /// <summary>Records a heartbeat; an Offline source comes back.</summary>
    SourceServer Heartbeat(string sourceId, double cpuPercent, long memoryUsedBytes, string agentVersion, DateTimeOffset now);

    /// <summary>Marks sources whose last heartbeat is older than <paramref name="cutoff"/> Offline; returns their ids.</summary>
    IReadOnlyList<string> MarkOffline(DateTimeOffset cutoff);

    /// <summary>Creates a job; refuses when its source is unknown or already has an unfinished job.</summary>
    void AddJob(MigrationJob job);

    MigrationJob? GetJob(string id);

    IReadOnlyList<MigrationJob> ListJobs(string? sourceId = null);

    /// <summary>Replaces a job when its state is still <paramref name="expected"/> (optimistic); false otherwise.</summary>
    bool UpdateJob(MigrationJob job, JobState expected);

    void SetSourceState(string sourceId, SourceState state);
}
