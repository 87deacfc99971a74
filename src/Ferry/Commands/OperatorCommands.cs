using System.CommandLine;
using Ferry.Cli.Cli;

namespace Ferry.Cli.Commands;

/// <summary>The operator verbs over the REST API: code, accesskey, source, job.</summary>
internal static class OperatorCommands
{
    public static Command Code()
    {
        var quota = new Option<int>("--quota") { Description = "Sources this code may import (1-1000).", DefaultValueFactory = _ => 200 };
        var days = new Option<int>("--days") { Description = "Days the code is valid (1-90).", DefaultValueFactory = _ => 90 };
        var description = new Option<string?>("--description");
        var id = new Argument<string>("id");
        return new Command("code", "Activation codes.")
        {
            OperatorCommand.Verb("create", "Create a code and print its one-line activation command (the secret is shown once).",
                p => (HttpMethod.Post, "api/v1/codes", new { quota = p.GetValue(quota), days = p.GetValue(days), description = p.GetValue(description) }),
                json =>
                {
                    Console.WriteLine($"Activation code {json.GetProperty("id").GetString()} (quota {json.GetProperty("quota")}, valid until {json.GetProperty("expires_at").GetString()}).");
                    Console.WriteLine("Run this on each source server (the secret is not shown again):");
                    Console.WriteLine();
                    Console.WriteLine("  " + json.GetProperty("command").GetString());
                }, quota, days, description),
            OperatorCommand.Verb("list", "List codes.", _ => (HttpMethod.Get, "api/v1/codes", null),
                OperatorCommand.Table("id", "quota", "used", "expires_at", "revoked", "description")),
            OperatorCommand.Verb("revoke", "Revoke a code.", p => (HttpMethod.Post, $"api/v1/codes/{p.GetValue(id)}/revoke", null), null, id),
        };
    }

    public static Command AccessKey()
    {
        var description = new Option<string?>("--description");
        var id = new Argument<string>("id");
        return new Command("accesskey", "AccessKey pairs for unattended activation.")
        {
            OperatorCommand.Verb("create", "Create an AccessKey pair (the secret is shown once).",
                p => (HttpMethod.Post, "api/v1/accesskeys", new { description = p.GetValue(description) }), null, description),
            OperatorCommand.Verb("list", "List AccessKeys.", _ => (HttpMethod.Get, "api/v1/accesskeys", null), OperatorCommand.Table("id", "created_at", "description")),
            OperatorCommand.Verb("delete", "Delete an AccessKey.", p => (HttpMethod.Delete, $"api/v1/accesskeys/{p.GetValue(id)}", null), null, id),
        };
    }

    public static Command Source()
    {
        var id = new Argument<string>("id");
        return new Command("source", "Source servers.")
        {
            OperatorCommand.Verb("list", "List sources.", _ => (HttpMethod.Get, "api/v1/sources", null),
                OperatorCommand.Table("id", "hostname", "state", "agent_version", "last_heartbeat", "disks")),
            OperatorCommand.Verb("show", "Show a source and its inventory.", p => (HttpMethod.Get, $"api/v1/sources/{p.GetValue(id)}", null), null, id),
            OperatorCommand.Verb("delete", "Delete a source without an unfinished job.", p => (HttpMethod.Delete, $"api/v1/sources/{p.GetValue(id)}", null), null, id),
        };
    }

    public static Command Job()
    {
        var source = new Option<string>("--source") { Description = "The source to migrate.", Required = true };
        var disks = new Option<string[]>("--disk") { Description = "A disk to copy (default: all)." };
        var compress = new Option<int?>("--compress") { Description = "0-10 (default 7)." };
        var bandwidth = new Option<double?>("--bandwidth") { Description = "Mbit/s, 0 for none." };
        var checksum = new Option<bool?>("--checksum") { Description = "End-to-end verification (default true)." };
        var format = new Option<string?>("--format") { Description = "Image format: raw, qcow2 (default), vmdk, vhdx." };
        var mode = new Option<string?>("--mode") { Description = "block (default: whole disks) or file (file trees into --layout)." };
        var layout = new Option<FileInfo?>("--layout") { Description = "File mode: the layout document (see the README)." };
        var encryption = new Option<string?>("--encryption") { Description = "Data channel TLS: auto (default; off only when agent and receiver share a machine), on, off (a private network)." };
        var incremental = new Option<bool>("--incremental") { Description = "Block mode: a full copy, then a cycle every --every sending what changed, until `ferry job cutover`." };
        var every = new Option<string>("--every") { Description = "Incremental: time from one cycle's start to the next (30m, 1h, 1d; default 1h).", DefaultValueFactory = _ => "1h" };
        var keep = new Option<int>("--keep") { Description = "Incremental: how many cycles' images the receiver keeps (default 3).", DefaultValueFactory = _ => 3 };
        var id = new Argument<string>("id");
        var command = new Command("job", "Migration jobs.")
        {
            OperatorCommand.Verb("create", "Create a block or file replication job for a source.", p => (HttpMethod.Post, "api/v1/jobs", new
            {
                source_id = p.GetValue(source),
                disks = p.GetValue(disks),
                compression = p.GetValue(compress),
                bandwidth_mbit = p.GetValue(bandwidth),
                checksum = p.GetValue(checksum),
                image_format = p.GetValue(format),
                mode = p.GetValue(mode),
                layout = p.GetValue(layout) is { } file ? System.Text.Json.JsonDocument.Parse(File.ReadAllText(file.FullName),
                    new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true }).RootElement : (System.Text.Json.JsonElement?)null,
                encryption = p.GetValue(encryption),
                incremental = p.GetValue(incremental),
                every_seconds = Transfer.DurationText.TryParse(p.GetValue(every), out var interval)
                    ? (long)interval.TotalSeconds
                    : throw new Transfer.Errors.FerryException(Transfer.Errors.ErrorCode.Usage, $"--every {p.GetValue(every)}: expected a duration such as 30m, 1h or 1d"),
                keep = p.GetValue(keep),
            }), null, source, disks, compress, bandwidth, checksum, format, mode, layout, encryption, incremental, every, keep),
            OperatorCommand.Verb("list", "List jobs.", _ => (HttpMethod.Get, "api/v1/jobs", null),
                OperatorCommand.Table("id", "source_id", "state", "phase", "updated_at", "error_code")),
            OperatorCommand.Verb("show", "Show a job: state, phase, progress, images.", p => (HttpMethod.Get, $"api/v1/jobs/{p.GetValue(id)}", null), JobText.Print, id),
        };
        foreach (var (verb, what) in new[]
        {
            ("start", "Start a job."), ("pause", "Pause a job."), ("resume", "Resume a job."), ("retry", "Retry a job in error (it resumes where it stopped)."),
            ("cancel", "Cancel a job."), ("sync", "Incremental: run the next cycle now."),
            ("cutover", "Incremental: run a last cycle (at once when Waiting, else right after the current one), then finish the job."),
        })
        {
            command.Subcommands.Add(OperatorCommand.Verb(verb, what, p => (HttpMethod.Post, $"api/v1/jobs/{p.GetValue(id)}/{verb}", null), null, id));
        }
        command.Subcommands.Add(OperatorCommand.Verb("modify", "Change compression, bandwidth or checksum, also while the job runs.",
            p => (HttpMethod.Post, $"api/v1/jobs/{p.GetValue(id)}/modify", new
            {
                compression = p.GetValue(compress),
                bandwidth_mbit = p.GetValue(bandwidth),
                checksum = p.GetValue(checksum),
            }), null, id, compress, bandwidth, checksum));
        return command;
    }
}
