using MinRnn.Data;

namespace MinRnn.Tests.Data;

public class ValidationWindowsTests
{
    [Theory]
    [InlineData(0, 5, 0)]
    [InlineData(1, 5, 0)]
    [InlineData(5, 5, 0)]
    [InlineData(6, 5, 1)]   // val[0..5]: exactly C + 1 tokens
    [InlineData(10, 5, 1)]
    [InlineData(11, 5, 2)]  // the second window val[5..10] ends on the last token
    [InlineData(111_540, 256, 435)] // Tiny Shakespeare at the paper's context
    public void CountIsFloorOfNMinusOneOverC(int length, int context, int count)
    {
        Assert.Equal(count, ValidationWindows.CountFor(length, context));
    }

    [Fact]
    public void WindowsStepByContextAndShareTheirBoundaryToken()
    {
        var windows = new ValidationWindows(Enumerable.Range(0, 23).ToArray(), 5);
        Assert.Equal(4, windows.Count);
        Assert.Equal(20, windows.Positions);
        for (int w = 0; w < windows.Count; w++)
        {
            Assert.Equal(Enumerable.Range(w * 5, 5), windows.Inputs(w).ToArray());
            Assert.Equal(Enumerable.Range(w * 5 + 1, 5), windows.Targets(w).ToArray());
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => windows.Inputs(4).ToArray());
    }

    [Fact]
    public void FillBatchesWindowsAndStopsAtTheLast()
    {
        var windows = new ValidationWindows(Enumerable.Range(0, 16).ToArray(), 3); // 5 windows
        var inputs = new int[3 * 3];
        var targets = new int[3 * 3];
        Assert.Equal(3, windows.Fill(0, inputs, targets));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8], inputs);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], targets);
        Assert.Equal(2, windows.Fill(3, inputs, targets));
        Assert.Equal([9, 10, 11, 12, 13, 14], inputs[..6]);
        Assert.Equal([10, 11, 12, 13, 14, 15], targets[..6]);
        Assert.Throws<ArgumentOutOfRangeException>(() => windows.Fill(5, inputs, targets));
        Assert.Throws<ArgumentException>(() => windows.Fill(0, new int[4], new int[4]));
    }

    [Fact]
    public void RejectsASplitWithoutAWindow()
    {
        var e = Assert.Throws<ArgumentException>(() => new ValidationWindows(new int[5], 5));
        Assert.Equal("validation windows: the validation split has 5 tokens, fewer than context + 1 = 6.", e.Message);
    }
}
