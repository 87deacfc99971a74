using System.CommandLine;
using Ferry.Snapshot;

namespace Ferry.Agent.Commands;

/// <summary>
/// <c>agent thaw-watchdog --bound-seconds N MOUNT…</c>: started by the agent itself before it freezes
/// filesystems (see <see cref="ThawWatchdog"/>); not for users.
/// </summary>
internal static class ThawWatchdogCommand
{
    public const string Name = "thaw-watchdog";

    public static Command Create()
    {
        var bound = new Option<double>("--bound-seconds") { Required = true };
        var mounts = new Argument<string[]>("mount-points") { Arity = ArgumentArity.OneOrMore };
        var command = new Command(Name, "Thaw frozen filesystems if the agent dies (started by the agent).") { bound, mounts };
        command.Hidden = true;
        command.SetAction((parse, _) => ThawWatchdog.RunAsync(parse.GetValue(mounts)!, TimeSpan.FromSeconds(parse.GetValue(bound)), Console.In, Console.Out));
        return command;
    }

    /// <summary>How the agent starts its watchdog: itself, with this command.</summary>
    public static List<string> CommandLine(TimeSpan bound, IEnumerable<string> mountPoints) =>
        [Environment.ProcessPath ?? "/proc/self/exe", Name, "--bound-seconds", bound.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. mountPoints];
}
