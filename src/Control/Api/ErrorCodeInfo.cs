namespace Ferry.Control.Api;

/// <summary>One stable error code: the agent's exit code for it (null for operator-side codes) and what it means and what to do.</summary>
public sealed record ErrorCodeInfo(string Code, int? Exit, string Meaning);
