namespace Ferry.Transfer.Delta;

/// <summary>
/// rsync's weak checksum over a window of bytes: the low 16 bits are the byte sum, the high 16 bits
/// the sum of the running sums. Sliding the window by one byte costs two additions, which is what
/// lets the agent look for the receiver's blocks at every offset of a file.
/// </summary>
public struct RollingChecksum
{
    private uint _a;
    private uint _b;
    private uint _length;

    public static RollingChecksum Of(ReadOnlySpan<byte> window)
    {
        uint a = 0, b = 0;
        var n = (uint)window.Length;
        for (var i = 0; i < window.Length; i++)
        {
            a += window[i];
            b += (n - (uint)i) * window[i];
        }
        return new RollingChecksum { _a = a, _b = b, _length = n };
    }

    public readonly uint Value => (_a & 0xFFFF) | (_b << 16);

    /// <summary>Slides the window one byte: <paramref name="leaving"/> drops out, <paramref name="entering"/> comes in.</summary>
    public void Roll(byte leaving, byte entering)
    {
        _a += (uint)entering - leaving;
        _b += _a - (_length * leaving);
    }
}
