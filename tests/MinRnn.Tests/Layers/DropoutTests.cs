using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class DropoutTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        const float p = 0.3f;
        var x = TestData.ToDouble(TestData.Uniform(41, 1));
        var weights = TestData.ToDouble(TestData.Uniform(x.Length, 2));
        double Loss()
        {
            var y = new double[x.Length];
            DropoutReference.Forward(x, y, p, 5);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length];
        DropoutReference.Backward(weights, dx, p, 5);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (n, p) in new[] { (1, 0.5f), (37, 0.2f), (5000, 0.9f), (13, 0f) })
        {
            var x = TestData.Uniform(n, n);
            var y = new float[n]; var expected = new double[n];
            Dropout.Forward(x, y, p, 11);
            DropoutReference.Forward(TestData.ToDouble(x), expected, p, 11);
            TestData.AssertClose(expected, y, 1e-6, 0, $"y[{n}], p={p}");
            Dropout.Backward(x, y, p, 11);
            DropoutReference.Backward(TestData.ToDouble(x), expected, p, 11);
            TestData.AssertClose(expected, y, 1e-6, 0, $"dx[{n}], p={p}");
        }
    }

    /// <summary>A buffer at an offset draws the mask of that stretch of the whole: ranks holding parts of a batch drop as one process would.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void AnOffsetDrawsThatStretchOfTheWholeMask(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        const float p = 0.4f;
        var x = TestData.Uniform(1000, 8);
        var whole = new float[x.Length];
        Dropout.Forward(x, whole, p, 21);
        foreach (int offset in new[] { 1, 16, 333, 500 })
        {
            var part = new float[x.Length - offset];
            Dropout.Forward(x.AsSpan(offset), part, p, 21, offset);
            Assert.Equal(whole[offset..], part);
            var reference = new double[part.Length];
            DropoutReference.Forward(TestData.ToDouble(x[offset..]), reference, p, 21, offset);
            TestData.AssertClose(reference, part, 1e-6, 0, $"offset {offset}");
            Dropout.Backward(x.AsSpan(offset), part, p, 21, offset);
            Assert.Equal(whole[offset..], part);
        }
    }

    [Fact]
    public void KeepsAboutOneMinusPAndBackwardUsesTheForwardMask()
    {
        const int n = 100_000; const float p = 0.25f;
        var x = new float[n]; Array.Fill(x, 1f);
        var y = new float[n]; var dx = new float[n];
        Dropout.Forward(x, y, p, 3);
        Dropout.Backward(x, dx, p, 3);
        Assert.Equal(y, dx);
        int kept = y.Count(v => v != 0f);
        Assert.InRange(kept / (double)n, 0.745, 0.755);
        Assert.All(y, v => Assert.True(v == 0f || v == 1f / (1f - p)));
        var other = new float[n];
        Dropout.Forward(x, other, p, 4);
        Assert.NotEqual(y, other);
    }

    [Fact]
    public void IdentityAtZeroAndInPlace()
    {
        var x = TestData.Uniform(100, 1);
        var y = new float[100];
        Dropout.Forward(x, y, 0f, 1);
        Assert.Equal(x, y);
        Dropout.Forward(x, y, 0.5f, 2);
        Dropout.Forward(x, x, 0.5f, 2);
        Assert.Equal(y, x);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void AddedToTheResidualIsDropoutThenTheAddToTheBit(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        // Lengths with vector tails, an offset into a larger mask, p = 0, and y being x or the branch itself.
        foreach (int length in new[] { 1, 37, 4096 * 3 + 5 })
        foreach (float p in new[] { 0f, 0.2f })
        foreach (int alias in new[] { 0, 1, 2 })
        {
            var x = TestData.Uniform(length, length); var branch = TestData.Uniform(length, length + 1);
            var dropped = new float[length]; var expected = new float[length];
            Dropout.Forward(branch, dropped, p, 7, offset: 1000);
            Residual.Add(x, dropped, expected);
            var xCopy = (float[])x.Clone(); var branchCopy = (float[])branch.Clone();
            var y = alias switch { 1 => xCopy, 2 => branchCopy, _ => new float[length] };
            Dropout.AddToResidual(xCopy, branchCopy, y, p, 7, offset: 1000);
            Assert.Equal(expected, y);
        }
        var four = new float[8];
        Assert.Throws<ArgumentException>(() => Dropout.AddToResidual(four.AsSpan(0, 4), four.AsSpan(4, 4), four.AsSpan(2, 4), 0.1f, 1));
        Assert.Throws<ArgumentException>(() => Dropout.AddToResidual(new float[4], new float[4], new float[3], 0.1f, 1));
        Assert.Throws<ArgumentException>(() => Dropout.AddToResidual(new float[3], new float[4], new float[4], 0.1f, 1));
        Assert.Throws<ArgumentException>(() => Dropout.AddToResidual(new float[4], new float[4], new float[4], 1f, 1));
    }

    [Fact]
    public void ResultDoesNotDependOnThreadCount()
    {
        var x = TestData.Uniform(200_000, 1);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var y = new float[x.Length];
            Dropout.Forward(x, y, 0.2f, 9);
            return y;
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefused()
    {
        var x = new float[4];
        foreach (float p in new[] { 1f, -0.1f, float.NaN })
        {
            var e = Assert.Throws<ArgumentException>(() => Dropout.Forward(x, x, p, 1));
            Assert.Contains("Dropout.Forward: the drop probability p must be in [0, 1)", e.Message);
        }
        var e2 = Assert.Throws<ArgumentException>(() => Dropout.Backward(x, new float[3], 0.1f, 1));
        Assert.Contains("Dropout.Backward: dx has 3 elements", e2.Message);
        Assert.Throws<ArgumentException>(() => Dropout.Forward([], [], 0.1f, 1));
    }
}
