using System.Text.Json.Serialization;
using Ferry.Agent.Inventory;
using Ferry.Agent.Migration;

namespace Ferry.Agent;

/// <summary>Source-generated JSON for everything the agent prints or stores (native AOT has no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(SystemInventory))]
[JsonSerializable(typeof(ProgressLine))]
[JsonSerializable(typeof(Lifecycle.ClientData))]
[JsonSerializable(typeof(Lifecycle.ServerInfo))]
[JsonSerializable(typeof(LayoutDocument))]
[JsonSerializable(typeof(FileSummary))]
[JsonSerializable(typeof(CycleLine))]
[JsonSerializable(typeof(BlockCheckpoint))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
