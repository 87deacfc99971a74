using System.CommandLine;
using Ferry.Cli.Commands;

// The operator executable: thin commands over the Receiver (and, as they land, Control) libraries.
var root = new RootCommand("Ferry: open server migration. Operator side: receiver, control plane and CLI.")
{
    ReceiverCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
