namespace Ferry.Transfer.Control;

/// <summary>The written form of <see cref="TransportSecurity"/>: auto, on or off, as options, jobs and settings spell it.</summary>
public static class TransportSecurityText
{
    public static bool TryParse(string? text, out TransportSecurity security) =>
        Enum.TryParse(text, ignoreCase: true, out security) && Enum.IsDefined(security);
}
