using MinRnn.Cli.Training;

namespace MinRnn.Tests.Cli;

public class MemoryEstimateTests
{
    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(999L, "999 B")]
    [InlineData(1_000L, "1.00 kB")]
    [InlineData(999_999L, "1.00 MB")]
    [InlineData(14_249_999L, "14.2 MB")]
    [InlineData(123_456_789L, "123 MB")]
    [InlineData(1_430_000_000L, "1.43 GB")]
    [InlineData(long.MaxValue, "9.22 EB")]
    public void FormatShowsThreeSignificantDigitsInDecimalUnits(long bytes, string expected) =>
        Assert.Equal(expected, MemoryEstimate.Format(bytes));
}
