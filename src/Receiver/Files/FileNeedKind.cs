namespace Ferry.Receiver.Files;

/// <summary>What the receiver needs of a file; values are a Need frame's offset field.</summary>
internal enum FileNeedKind
{
    Nothing = 0,
    Whole = 1,
    Delta = 2,
}
