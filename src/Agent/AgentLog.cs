using Serilog;
using Serilog.Events;

namespace Ferry.Agent;

/// <summary>
/// Logging: human-readable lines on standard error (standard output stays free for --json and
/// --json-progress) and a daily file under Logs/ beside the agent. Only plain properties are logged
/// (under native AOT Serilog cannot destructure objects), and never a token or secret.
/// </summary>
internal static class AgentLog
{
    /// <param name="console">False for the background agent, which has no terminal.</param>
    public static Serilog.Core.Logger Create(bool verbose, bool console = true)
    {
        var config = new LoggerConfiguration().MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information);
        if (console)
        {
            config = config.WriteTo.Console(outputTemplate: "{Level:u3} {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: LogEventLevel.Verbose,
                restrictedToMinimumLevel: verbose ? LogEventLevel.Debug : LogEventLevel.Warning);
        }
        var dir = Path.Combine(Lifecycle.AgentHome.Current.Directory, "Logs");
        try
        {
            Directory.CreateDirectory(dir);
            var file = new LoggerConfiguration().MinimumLevel.Verbose()
                .WriteTo.File(Path.Combine(dir, "agent-.log"), rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14,
                    outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}")
                .CreateLogger();
            HeldSink.File = new HeldSink(file);
            config = config.WriteTo.Sink(HeldSink.File);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only agent directory: log to the console only.
        }
        return config.CreateLogger();
    }
}
