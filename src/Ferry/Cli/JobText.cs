using System.Globalization;
using System.Text.Json;

namespace Ferry.Cli.Cli;

/// <summary>`ferry job show` for a person: state and phase, bytes done, speed, time remaining, images, error.</summary>
internal static class JobText
{
    public static void Print(JsonElement job)
    {
        var p = job.GetProperty("progress");
        var done = p.GetProperty("done_bytes").GetInt64();
        var total = p.GetProperty("total_bytes").GetInt64();
        var eta = p.TryGetProperty("eta_seconds", out var e) && e.ValueKind == JsonValueKind.Number ? TimeSpan.FromSeconds(e.GetInt64()).ToString("c", CultureInfo.InvariantCulture) : "-";
        var settings = job.GetProperty("settings");
        Console.WriteLine($"Job      {job.GetProperty("id").GetString()} (source {job.GetProperty("source_id").GetString()})");
        Console.WriteLine($"State    {job.GetProperty("state").GetString()} / {job.GetProperty("phase").GetString()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Progress {Size(done)} of {Size(total)} ({(total > 0 ? 100.0 * done / total : 0):0.0}%), {Size(p.GetProperty("wire_bytes").GetInt64())} on the wire"));
        Console.WriteLine($"Speed    {Size(p.GetProperty("speed_bps").GetInt64())}/s, time remaining {eta}");
        var mode = settings.TryGetProperty("mode", out var m) ? m.GetString() : "block";
        var what = mode == "file" ? "file mode (layout)" : "disks " + string.Join(",", settings.GetProperty("disks").EnumerateArray().Select(d => d.GetString()));
        Console.WriteLine($"Settings {what}, " +
            $"compression {settings.GetProperty("compression")}, bandwidth {settings.GetProperty("bandwidth_mbit")} Mbit/s, checksum {settings.GetProperty("checksum")}");
        if (settings.TryGetProperty("incremental", out var inc) && inc.GetBoolean())
        {
            var cycles = job.GetProperty("cycles");
            var next = cycles.TryGetProperty("next_at", out var n) && n.ValueKind == JsonValueKind.String ? ", next at " + n.GetString() : "";
            var cutover = cycles.GetProperty("cutover").GetBoolean() ? ", cut-over asked for" : "";
            Console.WriteLine($"Cycles   {cycles.GetProperty("completed")} done, every {Transfer.DurationText.Format(TimeSpan.FromSeconds(settings.GetProperty("every_seconds").GetInt64()))}, " +
                $"keeping {settings.GetProperty("keep")} image(s){next}{cutover}");
        }
        foreach (var image in job.GetProperty("images").EnumerateArray())
        {
            Console.WriteLine($"Image    {image.GetString()}");
        }
        if (job.GetProperty("error_code").ValueKind == JsonValueKind.String)
        {
            Console.WriteLine($"Error    {job.GetProperty("error_code").GetString()}: {job.GetProperty("error_message").GetString()}");
        }
    }

    private static string Size(long bytes) => Transfer.ByteSize.Format(bytes);
}
