namespace Ferry.Control.Model;

/// <summary>A source server's state, named as users of the vendor service know them.</summary>
public enum SourceState
{
    Available,
    InUse,
    InError,
    Offline,
}
