using Ferry.Transfer.Errors;

namespace Ferry.Control;

/// <summary>A refused operator or agent request; nothing was changed.</summary>
public sealed class ControlException : FerryException
{
    public ControlException(ErrorCode code, string message, string? hint = null)
        : base(code, message, hint)
    {
    }

    public ControlException()
    {
    }

    public ControlException(string message)
        : base(message)
    {
    }

    public ControlException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
