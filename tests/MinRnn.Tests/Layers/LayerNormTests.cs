using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class LayerNormTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        int rows = 7, dim = 13;
        var x = TestData.ToDouble(TestData.Uniform(rows * dim, 1, 2f));
        var w = TestData.ToDouble(TestData.Uniform(dim, 2));
        var weights = TestData.ToDouble(TestData.Uniform(rows * dim, 3));
        double Loss()
        {
            var y = new double[rows * dim];
            LayerNormReference.Forward(x, w, y, new double[rows], new double[rows], rows, dim);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var mean = new double[rows]; var rstd = new double[rows];
        LayerNormReference.Forward(x, w, new double[rows * dim], mean, rstd, rows, dim);
        var dx = new double[x.Length]; var dw = new double[dim];
        LayerNormReference.Backward(x, w, mean, rstd, weights, dx, dw, rows, dim);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
        FiniteDifference.AssertMatches(dw, FiniteDifference.Gradient(w, Loss), "dWeight");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (rows, dim) in new[] { (7, 13), (40, 67), (3, 1), (1, 37), (70, 384) })
        foreach (bool accumulateDx in new[] { false, true })
        {
            string what = $"({rows}, {dim}, accumulateDx={accumulateDx})";
            var x = TestData.Uniform(rows * dim, 1, 3f); var w = TestData.Uniform(dim, 2);
            var y = new float[x.Length]; var mean = new float[rows]; var rstd = new float[rows];
            var expectedY = new double[x.Length]; var expectedMean = new double[rows]; var expectedRstd = new double[rows];
            LayerNorm.Forward(x, w, y, mean, rstd, rows, dim);
            LayerNormReference.Forward(TestData.ToDouble(x), TestData.ToDouble(w), expectedY, expectedMean, expectedRstd, rows, dim);
            TestData.AssertClose(expectedY, y, 1e-5, 1e-6, "y" + what);
            TestData.AssertClose(expectedMean, mean, 1e-5, 1e-6, "mean" + what);
            TestData.AssertClose(expectedRstd, rstd, 1e-5, 1e-6, "rstd" + what);

            var dy = TestData.Uniform(x.Length, 3);
            var dx = TestData.Uniform(x.Length, 4); var dw = TestData.Uniform(dim, 5);
            var expectedDx = TestData.ToDouble(dx); var expectedDw = TestData.ToDouble(dw);
            LayerNorm.Backward(x, w, mean, rstd, dy, dx, dw, rows, dim, accumulateDx);
            LayerNormReference.Backward(TestData.ToDouble(x), TestData.ToDouble(w), expectedMean, expectedRstd, TestData.ToDouble(dy),
                expectedDx, expectedDw, rows, dim, accumulateDx);
            TestData.AssertClose(expectedDx, dx, 1e-5, 1e-5, "dx" + what);
            TestData.AssertClose(expectedDw, dw, 1e-5, 1e-5 * Math.Sqrt(rows), "dWeight" + what);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ForwardMatchesValuesWorkedByHand(SimdWidth width)
    {
        // μ = 2.5, σ² = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, r = 1 / sqrt(1.25 + 1e-5) = 0.89442361...,
        // y = (x - μ) r w = [-1.5 r, -0.5 r, 0.5 r · 2, 1.5 r · 0.5]: what F.layer_norm(x, (4,), w, eps=1e-5) gives.
        float[] x = [1, 2, 3, 4], w = [1, 1, 2, 0.5f];
        using var _ = Simd.Force(width);
        var y = new float[4]; var mean = new float[1]; var rstd = new float[1];
        LayerNorm.Forward(x, w, y, mean, rstd, 1, 4);
        TestData.AssertClose([2.5], mean, 0, 0, "mean");
        TestData.AssertClose([0.8944236133], rstd, 1e-6, 0, "rstd");
        TestData.AssertClose([-1.3416354200, -0.4472118067, 0.8944236133, 0.6708177100], y, 1e-6, 0, "y");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void LargeMeanKeepsItsPrecision(SimdWidth width)
    {
        // σ² as E[x²] - μ² would lose it all in float here (x² ~ 1e6, σ² ~ 0.3); the two passes keep y close.
        using var _ = Simd.Force(width);
        int rows = 4, dim = 300;
        var x = TestData.Uniform(rows * dim, 6);
        for (int i = 0; i < x.Length; i++) x[i] += 1000f;
        var w = TestData.Uniform(dim, 7);
        var y = new float[x.Length]; var mean = new float[rows]; var rstd = new float[rows];
        var expectedY = new double[x.Length];
        LayerNorm.Forward(x, w, y, mean, rstd, rows, dim);
        LayerNormReference.Forward(TestData.ToDouble(x), TestData.ToDouble(w), expectedY, new double[rows], new double[rows], rows, dim);
        TestData.AssertClose(expectedY, y, 1e-3, 1e-3, "y");
    }

    [Fact]
    public void ForwardMayRunInPlace()
    {
        int rows = 5, dim = 19;
        var x = TestData.Uniform(rows * dim, 1); var w = TestData.Uniform(dim, 2);
        var y = new float[x.Length]; var mean = new float[rows]; var rstd = new float[rows];
        var mean2 = new float[rows]; var rstd2 = new float[rows];
        LayerNorm.Forward(x, w, y, mean, rstd, rows, dim);
        LayerNorm.Forward(x, w, x, mean2, rstd2, rows, dim);
        Assert.Equal(y, x);
        Assert.Equal(mean, mean2);
        Assert.Equal(rstd, rstd2);
    }

    [Fact]
    public void ResultsDoNotDependOnThreadCount()
    {
        int rows = 300, dim = 200;
        var x = TestData.Uniform(rows * dim, 1); var w = TestData.Uniform(dim, 2); var dy = TestData.Uniform(rows * dim, 3);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var y = new float[x.Length]; var mean = new float[rows]; var rstd = new float[rows];
            var dx = new float[x.Length]; var dw = new float[dim];
            LayerNorm.Forward(x, w, y, mean, rstd, rows, dim);
            LayerNorm.Backward(x, w, mean, rstd, dy, dx, dw, rows, dim);
            return y.Concat(mean).Concat(rstd).Concat(dx).Concat(dw).ToArray();
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var x = new float[12]; var w = new float[4]; var stats = new float[3];
        var e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward(x.AsSpan(0, 10), w, new float[12], stats, stats, 3, 4));
        Assert.Contains("LayerNorm.Forward: x has 10 elements, expected [3, 4] = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward(x, new float[3], new float[12], stats, stats, 3, 4));
        Assert.Contains("weight has 3 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward(x, w, new float[12], new float[2], stats, 3, 4));
        Assert.Contains("mean has 2 elements, expected [3] = 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward(x, w, new float[12], stats, new float[4], 3, 4));
        Assert.Contains("rstd has 4 elements", e.Message);
        Assert.Throws<ArgumentException>(() => LayerNorm.Forward([], w, [], [], [], 0, 4));
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward(x, w, stats, stats, x, new float[11], w, 3, 4));
        Assert.Contains("LayerNorm.Backward: dx has 11 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward(x, w, stats, stats, new float[13], x, w, 3, 4));
        Assert.Contains("dy has 13 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward(x, w, new float[1], stats, x, x, w, 3, 4));
        Assert.Contains("mean has 1 elements", e.Message);
        Assert.Throws<ArgumentException>(() => LayerNorm.Backward(x, w, stats, stats, x, x, new float[5], 3, 4));
    }
}
