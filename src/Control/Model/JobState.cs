namespace Ferry.Control.Model;

/// <summary>A migration job's state, named as users of the vendor service know them.</summary>
public enum JobState
{
    Ready,
    Running,
    Stopped,
    Waiting,
    InError,
    Finished,
    Expired,
    Deleting,
}
