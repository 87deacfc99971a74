namespace Ferry.Transfer.Errors;

/// <summary>
/// A failure that reaches the user: a stable <see cref="Code"/>, a message that names the problem,
/// and a <see cref="Hint"/> that says what to do. The operation failed; the process may go on.
/// </summary>
public class FerryException : Exception
{
    public FerryException(ErrorCode code, string message, string? hint = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Hint = hint;
    }

    public FerryException()
    {
    }

    public FerryException(string message)
        : base(message)
    {
    }

    public FerryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ErrorCode Code { get; }

    public string? Hint { get; }
}
