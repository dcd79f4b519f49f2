using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class RmsNormTests
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
            RmsNormReference.Forward(x, w, y, rows, dim);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length]; var dw = new double[dim];
        RmsNormReference.Backward(x, w, weights, dx, dw, rows, dim);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
        FiniteDifference.AssertMatches(dw, FiniteDifference.Gradient(w, Loss), "dWeight");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (rows, dim) in new[] { (7, 13), (40, 67), (3, 1), (70, 384) })
        foreach (bool accumulateDx in new[] { false, true })
        {
            string what = $"({rows}, {dim}, accumulateDx={accumulateDx})";
            var x = TestData.Uniform(rows * dim, 1, 3f); var w = TestData.Uniform(dim, 2);
            var y = new float[x.Length]; var expectedY = new double[x.Length];
            RmsNorm.Forward(x, w, y, rows, dim);
            RmsNormReference.Forward(TestData.ToDouble(x), TestData.ToDouble(w), expectedY, rows, dim);
            TestData.AssertClose(expectedY, y, 1e-5, 1e-6, "y" + what);

            var dy = TestData.Uniform(x.Length, 3);
            var dx = TestData.Uniform(x.Length, 4); var dw = TestData.Uniform(dim, 5);
            var expectedDx = TestData.ToDouble(dx); var expectedDw = TestData.ToDouble(dw);
            RmsNorm.Backward(x, w, dy, dx, dw, rows, dim, accumulateDx);
            RmsNormReference.Backward(TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(dy), expectedDx, expectedDw, rows, dim, accumulateDx);
            TestData.AssertClose(expectedDx, dx, 1e-5, 1e-5, "dx" + what);
            TestData.AssertClose(expectedDw, dw, 1e-5, 1e-5 * Math.Sqrt(rows), "dWeight" + what);
        }
    }

    [Fact]
    public void ForwardMayRunInPlace()
    {
        int rows = 5, dim = 19;
        var x = TestData.Uniform(rows * dim, 1); var w = TestData.Uniform(dim, 2);
        var y = new float[x.Length];
        RmsNorm.Forward(x, w, y, rows, dim);
        RmsNorm.Forward(x, w, x, rows, dim);
        Assert.Equal(y, x);
    }

    [Fact]
    public void ResultsDoNotDependOnThreadCount()
    {
        int rows = 300, dim = 200;
        var x = TestData.Uniform(rows * dim, 1); var w = TestData.Uniform(dim, 2); var dy = TestData.Uniform(rows * dim, 3);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var y = new float[x.Length]; var dx = new float[x.Length]; var dw = new float[dim];
            RmsNorm.Forward(x, w, y, rows, dim);
            RmsNorm.Backward(x, w, dy, dx, dw, rows, dim);
            return y.Concat(dx).Concat(dw).ToArray();
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var x = new float[12]; var w = new float[4];
        var e = Assert.Throws<ArgumentException>(() => RmsNorm.Forward(x.AsSpan(0, 10), w, new float[12], 3, 4));
        Assert.Contains("RmsNorm.Forward: x has 10 elements, expected [3, 4] = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => RmsNorm.Forward(x, new float[3], new float[12], 3, 4));
        Assert.Contains("weight has 3 elements", e.Message);
        Assert.Throws<ArgumentException>(() => RmsNorm.Forward([], w, [], 0, 4));
        e = Assert.Throws<ArgumentException>(() => RmsNorm.Backward(x, w, x, new float[11], w, 3, 4));
        Assert.Contains("RmsNorm.Backward: dx has 11 elements", e.Message);
        Assert.Throws<ArgumentException>(() => RmsNorm.Backward(x, w, x, x, new float[5], 3, 4));
    }
}
