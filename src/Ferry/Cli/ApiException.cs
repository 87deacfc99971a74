namespace Ferry.Cli.Cli;

/// <summary>The control plane refused a request (or could not be reached); nothing was changed.</summary>
internal sealed class ApiException(string code, string message, string? hint, int exitCode) : Exception(message)
{
    public string Code { get; } = code;

    public string? Hint { get; } = hint;

    public int ExitCode { get; } = exitCode;
}
