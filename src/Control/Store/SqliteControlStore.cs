using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Ferry.Control.Store;

/// <summary>
/// The SQLite store: one file under the data directory, created on first start, WAL-journaled.
/// Writers take the database lock at the start of their transaction (BEGIN IMMEDIATE), which is
/// what makes quota checks atomic under concurrent activations.
/// </summary>
public sealed partial class SqliteControlStore : IControlStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _connectionString;

    public SqliteControlStore(string path)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = Open();
        Execute(connection, null, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS codes (
                id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, quota INTEGER NOT NULL, used INTEGER NOT NULL,
                created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL, description TEXT);
            CREATE TABLE IF NOT EXISTS access_keys (
                id TEXT PRIMARY KEY, sealed_secret TEXT NOT NULL, created_at INTEGER NOT NULL, description TEXT);
            CREATE TABLE IF NOT EXISTS sources (
                id TEXT PRIMARY KEY, identity TEXT NOT NULL UNIQUE, hostname TEXT NOT NULL, state TEXT NOT NULL,
                agent_version TEXT NOT NULL, registered_at INTEGER NOT NULL, last_heartbeat INTEGER NOT NULL,
                cpu_percent REAL NOT NULL, memory_used INTEGER NOT NULL, inventory TEXT NOT NULL,
                activated_with TEXT, agent_token_hash TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS sources_token ON sources (agent_token_hash);
            CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY, source_id TEXT NOT NULL REFERENCES sources (id), state TEXT NOT NULL, phase TEXT NOT NULL,
                settings TEXT NOT NULL, progress TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                error_code TEXT, error_message TEXT, images TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS jobs_source ON jobs (source_id);
            """);
        // Stores made before incremental jobs lack the column of their cycles.
        if (Convert.ToInt64(Scalar(connection, null, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'cycles'"), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            Execute(connection, null, "ALTER TABLE jobs ADD COLUMN cycles TEXT NOT NULL DEFAULT '{}'");
        }
    }

    public string? GetSetting(string key)
    {
        using var c = Open();
        return Scalar(c, null, "SELECT value FROM settings WHERE key = $k", ("$k", key)) as string;
    }

    public void SetSetting(string key, string value)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO settings (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = $v", ("$k", key), ("$v", value));
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    private static int Execute(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteScalar();
    }

    private static List<T> Query<T>(SqliteConnection c, SqliteTransaction? tx, string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        using var reader = cmd.ExecuteReader();
        var result = new List<T>();
        while (reader.Read())
        {
            result.Add(map(reader));
        }
        return result;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }

    private static long Unix(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(SqliteDataReader r, string column) => DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal(column)));

    private static string Str(SqliteDataReader r, string column) => r.GetString(r.GetOrdinal(column));

    private static string? NullableStr(SqliteDataReader r, string column)
    {
        var i = r.GetOrdinal(column);
        return r.IsDBNull(i) ? null : r.GetString(i);
    }

    private static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    private static T FromJson<T>(string text) => JsonSerializer.Deserialize<T>(text, Json)!;

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
