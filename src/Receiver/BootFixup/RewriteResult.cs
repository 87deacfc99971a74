namespace Ferry.Receiver.BootFixup;

/// <summary>A rewritten file and the changes made to it; no changes means the file is already right.</summary>
public sealed record RewriteResult(string Text, IReadOnlyList<ConfigChange> Changes);
