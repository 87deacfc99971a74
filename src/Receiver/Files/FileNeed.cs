using Ferry.Transfer.Delta;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Receiver.Files;

/// <summary>
/// The receiver's answer to a regular file's entry (a Need frame). For a delta, the old copy's signature is not read
/// here: <see cref="Sign"/> reads it, off the connection's loop (a cold read of every changed file's old copy, and all
/// of a large one, held up each entry behind it).
/// </summary>
internal sealed record FileNeed(FileNeedKind Kind, int BlockSize = 0, SafeFileHandle? Basis = null, long BasisSize = 0)
{
    public static readonly FileNeed Nothing = new(FileNeedKind.Nothing);
    public static readonly FileNeed Whole = new(FileNeedKind.Whole);

    /// <summary>The Need frame's payload: the old copy's size and block signature for a delta, else nothing.</summary>
    public byte[] Sign() => Basis is null ? [] : BlockSignature.ComputeWithSize(Basis, BasisSize, BlockSize);
}
