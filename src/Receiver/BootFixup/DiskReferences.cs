namespace Ferry.Receiver.BootFixup;

/// <summary>
/// What the target's configuration may refer to, and how it must refer to it on the new machine:
/// device names of the source (whose disks will be virtio there) resolve to filesystem UUIDs, and
/// UUIDs or labels that file replication replaced map to their new values.
/// </summary>
public sealed class DiskReferences
{
    private readonly Dictionary<string, string> _deviceToUuid = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _uuids = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _labels = new(StringComparer.Ordinal);

    /// <summary>The filesystem on source device <paramref name="device"/> (/dev/sda1, /dev/xvda1, /dev/nvme0n1p1) has <paramref name="uuid"/> on the target.</summary>
    public DiskReferences Device(string device, string uuid)
    {
        _deviceToUuid[device] = uuid;
        return this;
    }

    /// <summary>A filesystem's UUID changed from <paramref name="oldUuid"/> to <paramref name="newUuid"/> on the target.</summary>
    public DiskReferences Uuid(string oldUuid, string newUuid)
    {
        _uuids[oldUuid] = newUuid;
        return this;
    }

    public DiskReferences Label(string oldLabel, string newLabel)
    {
        _labels[oldLabel] = newLabel;
        return this;
    }

    /// <summary>
    /// How <paramref name="spec"/> (a device path, UUID=…, LABEL=…, or /dev/disk/by-uuid|by-label/…)
    /// must be written on the target, or null when it is right as it is (or is not a disk reference
    /// Ferry knows, such as an LVM path or a network share, which must be left alone).
    /// </summary>
    public (string Replacement, string Reason)? Resolve(string spec)
    {
        if (_deviceToUuid.TryGetValue(spec, out var byDevice))
        {
            var fresh = _uuids.GetValueOrDefault(byDevice, byDevice);
            return ("UUID=" + fresh, $"{spec} is a source device name; the new machine's disks are virtio, so the filesystem is named by UUID");
        }
        if (TryValue(spec, "UUID=", out var uuid) && _uuids.TryGetValue(uuid, out var newUuid))
        {
            return ("UUID=" + newUuid, $"the filesystem's UUID changed from {uuid} to {newUuid}");
        }
        if (TryValue(spec, "/dev/disk/by-uuid/", out var linkUuid) && _uuids.TryGetValue(linkUuid, out var newLinkUuid))
        {
            return ("/dev/disk/by-uuid/" + newLinkUuid, $"the filesystem's UUID changed from {linkUuid} to {newLinkUuid}");
        }
        if (TryValue(spec, "LABEL=", out var label) && _labels.TryGetValue(label, out var newLabel))
        {
            return ("LABEL=" + newLabel, $"the filesystem's label changed from {label} to {newLabel}");
        }
        if (TryValue(spec, "/dev/disk/by-label/", out var linkLabel) && _labels.TryGetValue(linkLabel, out var newLinkLabel))
        {
            return ("/dev/disk/by-label/" + newLinkLabel, $"the filesystem's label changed from {linkLabel} to {newLinkLabel}");
        }
        return null;
    }

    private static bool TryValue(string spec, string prefix, out string value)
    {
        value = spec.StartsWith(prefix, StringComparison.Ordinal) ? spec[prefix.Length..].Trim('"') : "";
        return value.Length > 0;
    }
}
