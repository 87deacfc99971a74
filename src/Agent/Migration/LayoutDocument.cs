using System.Text.Json;
using Ferry.Transfer.Errors;

namespace Ferry.Agent.Migration;

/// <summary>
/// The target layout as a user writes it (LAYOUT.json; the README has an example): disks with sizes
/// and partition tables, partitions with sizes, mount points, filesystems and excludes. The agent
/// completes it from the source (filesystem types, UUIDs, labels, used space) into the layout the
/// receiver builds.
/// </summary>
public sealed class LayoutDocument
{
    /// <summary>"bios" or "uefi"; the source's own boot mode when left out.</summary>
    public string? BootMode { get; set; }

    /// <summary>New UUIDs for the target filesystems instead of the source's.</summary>
    public bool FreshUuids { get; set; }

    /// <summary>Excludes for every mount point, added to Excludes/rsync_excludes_linux.txt.</summary>
    public List<string> Excludes { get; set; } = [];

    public List<LayoutDocumentDisk> Disks { get; set; } = [];

    /// <summary>Parses a layout document; <paramref name="origin"/> names it in errors.</summary>
    public static LayoutDocument Parse(string text, string origin)
    {
        try
        {
            return JsonSerializer.Deserialize(text, AgentJsonContext.Default.LayoutDocument)
                ?? throw new FerryException(ErrorCode.LayoutInvalid, $"the layout {origin} is empty");
        }
        catch (JsonException e)
        {
            throw new FerryException(ErrorCode.LayoutInvalid, $"the layout {origin} is not valid: {e.Message}",
                "See the README for the layout's fields (snake_case: boot_mode, disks, partitions, mount_point, size, filesystem, excludes).");
        }
    }

    public static LayoutDocument Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new FerryException(ErrorCode.LayoutInvalid, $"cannot read the layout {path}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new FerryException(ErrorCode.LayoutInvalid, $"cannot read the layout {path}: {e.Message}");
        }
        return Parse(text, path);
    }
}
