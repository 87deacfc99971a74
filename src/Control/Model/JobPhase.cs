namespace Ferry.Control.Model;

/// <summary>Where a running job is.</summary>
public enum JobPhase
{
    None,
    Preparing,
    Syncing,
    Processing,
    Cleaning,
}
