using System.CommandLine;
using Ferry.Agent;
using Ferry.Agent.Commands;
using Ferry.Disks;
using Ferry.Transfer.Errors;

// The agent: thin commands over the capability libraries. Every failure is mapped to an exit code here.
var root = new RootCommand("Ferry agent: moves this server to new infrastructure as a bootable disk image.")
{
    InventoryCommand.Create(),
    MigrateCommand.Create(),
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
    var failure = e switch
    {
        FerryException f => f,
        DiskException d => ExitCodes.ToFerry(d),
        OperationCanceledException => new FerryException(ErrorCode.Interrupted, "interrupted", "Run the same command again to start over."),
        UnauthorizedAccessException => new FerryException(ErrorCode.NotRoot, e.Message, "Run the agent as root (sudo)."),
        _ => new FerryException(ErrorCode.Internal, e.ToString(), "This is a bug in Ferry; please report it with the log under Logs/."),
    };
    Console.Error.WriteLine();
    Console.Error.WriteLine($"error {ErrorCodes.Name(failure.Code)}: {failure.Message}");
    if (failure.Hint is not null)
    {
        Console.Error.WriteLine("  " + failure.Hint);
    }
    return ExitCodes.For(failure.Code);
}
