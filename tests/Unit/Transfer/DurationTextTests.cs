using Ferry.Transfer;
using Xunit;

namespace Ferry.Tests.Unit.Transfer;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 30 * 60)]
    [InlineData("1h", 3600)]
    [InlineData("1h30m", 5400)]
    [InlineData("2d", 2 * 86400)]
    [InlineData("1d2h3m4s", 86400 + 7200 + 180 + 4)]
    [InlineData("45", 45)]
    [InlineData("0", 0)]
    [InlineData(" 15m ", 15 * 60)]
    public void TryParse_AcceptedForm_GivesItsSeconds(string text, long seconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("h")]
    [InlineData("1x")]
    [InlineData("-5m")]
    [InlineData("-5")]
    [InlineData("1h30")]
    [InlineData("1h 30m")]
    [InlineData("1.5h")]
    [InlineData("m30")]
    [InlineData("1H")]
    public void TryParse_RefusedForm_IsFalseWithZero(string? text)
    {
        Assert.False(DurationText.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.Zero, duration);
    }

    [Theory]
    [InlineData("999999999d")]
    [InlineData("999999999h999999999d")]
    [InlineData("99999999999999999")]
    public void TryParse_DurationBeyondWhatATimeSpanHolds_IsFalseNotAnException(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Theory]
    [InlineData(45, "45s")]
    [InlineData(90, "90s")]
    [InlineData(1800, "30m")]
    [InlineData(5400, "90m")]
    [InlineData(3600, "1h")]
    [InlineData(7200, "2h")]
    [InlineData(86400, "1d")]
    [InlineData(90000, "25h")]
    [InlineData(0, "0s")]
    public void Format_WholeSeconds_IsTheShortestForm(long seconds, string text)
    {
        Assert.Equal(text, DurationText.Format(TimeSpan.FromSeconds(seconds)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(59)]
    [InlineData(61)]
    [InlineData(600)]
    [InlineData(3599)]
    [InlineData(5400)]
    [InlineData(86399)]
    [InlineData(2 * 86400)]
    [InlineData(30L * 86400)]
    public void Format_ThenTryParse_RoundTrips(long seconds)
    {
        var duration = TimeSpan.FromSeconds(seconds);

        Assert.True(DurationText.TryParse(DurationText.Format(duration), out var parsed));
        Assert.Equal(duration, parsed);
    }
}
