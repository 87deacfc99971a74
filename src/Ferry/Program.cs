using System.CommandLine;
using Ferry.Cli.Cli;
using Ferry.Cli.Commands;

// The operator executable: thin commands over the Control and Receiver libraries.
var root = new RootCommand("Ferry: open server migration. Operator side: control plane, receiver and CLI.")
{
    ServeCommand.Create(),
    ReceiverCommand.Create(),
    OperatorCommands.Code(),
    OperatorCommands.AccessKey(),
    OperatorCommands.Source(),
    OperatorCommands.Job(),
};
root.Options.Add(OperatorCommand.Server);
root.Options.Add(OperatorCommand.Token);
root.Options.Add(OperatorCommand.JsonOutput);
return await root.Parse(args).InvokeAsync();
