using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Ferry.Cli.Cli;

/// <summary>The log of the long-running operator commands (serve, receiver): timestamped lines on standard error.</summary>
internal static class OperatorLog
{
    public static Logger Create() => new LoggerConfiguration()
        .MinimumLevel.Information()
        .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
        .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
        .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: LogEventLevel.Verbose)
        .CreateLogger();
}
