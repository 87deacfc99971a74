using System.CommandLine;
using Ferry.Agent;
using Ferry.Agent.Commands;
using Ferry.Transfer.Errors;

// The agent: thin commands over the capability libraries. Every failure is mapped to an exit code here.
var root = new RootCommand("Ferry agent: moves this server to new infrastructure as a bootable disk image.")
{
    InventoryCommand.Create(),
    MigrateCommand.Create(),
    ThawWatchdogCommand.Create(),
};
LifecycleCommands.AddTo(root);

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error {ErrorCodes.Name(ErrorCode.Usage)}: {error.Message}");
    }
    Console.Error.WriteLine("Run `./agent --help` for usage.");
    return ExitCodes.Usage;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    var failure = ExitCodes.ToFerry(e);
    Console.Error.WriteLine();
    Console.Error.WriteLine($"error {ErrorCodes.Name(failure.Code)}: {failure.Message}");
    if (failure.Hint is not null)
    {
        Console.Error.WriteLine("  " + failure.Hint);
    }
    return ExitCodes.For(failure.Code);
}
