using Ferry.Control.Api;
using Ferry.Transfer.Errors;
using Xunit;

namespace Ferry.Tests.Unit.Control;

/// <summary>The README's error table, as the API serves it, documents every code there is, once, with what to do.</summary>
public sealed class ErrorTableTests
{
    [Fact]
    public void EveryErrorCode_IsDocumentedOnce_WithItsMeaning()
    {
        var documented = ErrorTable.All;

        Assert.Equal(Enum.GetValues<ErrorCode>().Select(ErrorCodes.Name).Order(), documented.Select(e => e.Code).Order());
        Assert.All(documented, e => Assert.True(e.Meaning.Length > 10, $"{e.Code} has no meaning worth the name"));
        Assert.Equal(4, documented.Single(e => e.Code == "E_SOURCE_READ").Exit);
        Assert.Null(documented.Single(e => e.Code == "E_JOB_CONFLICT").Exit);
    }
}
