using System.CommandLine;
using System.Text.Json;
using Ferry.Agent.Inventory;

namespace Ferry.Agent.Commands;

/// <summary><c>agent inventory [--json] [--include-loop] [DEVICE...]</c></summary>
internal static class InventoryCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the inventory as JSON." };
        var includeLoop = new Option<bool>("--include-loop") { Description = "List loop devices too." };
        var devices = new Argument<string[]>("device") { Description = "Disks to list (default: all).", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("inventory", "Report the disks, partitions, filesystems and mounts a migration needs.") { json, includeLoop, devices };
        command.SetAction(parse =>
        {
            var inventory = InventoryCollector.Collect(parse.GetValue(includeLoop), parse.GetValue(devices) ?? [],
                warning => Console.Error.WriteLine("WRN " + warning));
            Console.Out.Write(parse.GetValue(json)
                ? JsonSerializer.Serialize(inventory, AgentJsonContext.Default.SystemInventory) + Environment.NewLine
                : InventoryText.Format(inventory));
            return ExitCodes.Ok;
        });
        return command;
    }
}
