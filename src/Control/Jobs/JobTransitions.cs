using Ferry.Control.Model;
using Ferry.Transfer.Errors;

namespace Ferry.Control.Jobs;

/// <summary>
/// The operator's job verbs and the states they are allowed from. A refused verb names the job's
/// current state. Cancel moves the job to Deleting: the agent stops the transfer and the receiver
/// drops the unfinished image, and the source is free for a new job.
/// </summary>
public static class JobTransitions
{
    private static readonly Dictionary<string, (JobState[] From, JobState? To)> Verbs = new()
    {
        ["start"] = ([JobState.Ready], JobState.Running),
        ["pause"] = ([JobState.Running], JobState.Stopped),
        ["resume"] = ([JobState.Stopped], JobState.Running),
        ["retry"] = ([JobState.InError], JobState.Running),
        ["modify"] = ([JobState.Ready, JobState.Running, JobState.Stopped, JobState.Waiting, JobState.InError], null),
        // Incremental jobs: run the next cycle now; cut over (a last cycle, then Finished: from Waiting at
        // once, from Running or Stopped once the current cycle is done).
        ["sync"] = ([JobState.Waiting], JobState.Running),
        ["cutover"] = ([JobState.Waiting, JobState.Running, JobState.Stopped], null),
        ["cancel"] = ([JobState.Ready, JobState.Running, JobState.Stopped, JobState.Waiting, JobState.InError], JobState.Deleting),
    };

    public static IReadOnlyCollection<string> Names => Verbs.Keys;

    /// <summary>The state <paramref name="verb"/> leads to from <paramref name="job"/>'s state, or a refusal naming that state.</summary>
    public static JobState Apply(MigrationJob job, string verb)
    {
        if (!Verbs.TryGetValue(verb, out var rule))
        {
            throw new ControlException(ErrorCode.InvalidRequest, $"unknown job action '{verb}'", $"Use one of: {string.Join(", ", Verbs.Keys)}.");
        }
        if (!rule.From.Contains(job.State))
        {
            throw new ControlException(ErrorCode.InvalidState, $"job {job.Id} is {job.State}; '{verb}' needs it to be {string.Join(" or ", rule.From)}");
        }
        return rule.To ?? job.State;
    }
}
