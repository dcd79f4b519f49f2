using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class GeluTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        var x = TestData.ToDouble(TestData.Uniform(37, 1, 4f));
        var weights = TestData.ToDouble(TestData.Uniform(x.Length, 2));
        double Loss()
        {
            var y = new double[x.Length];
            GeluReference.Forward(x, y);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length];
        GeluReference.Backward(x, weights, dx);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (int n in new[] { 1, 7, 37, 1001 })
        {
            var x = TestData.Uniform(n, n, 6f);
            x[0] = n == 1 ? 0f : 15f;
            if (n > 2) x[^1] = -15f; // deep in the tails: gelu ~ 0 (clamped exponent) and ~ x
            var y = new float[n]; var expectedY = new double[n];
            Gelu.Forward(x, y);
            GeluReference.Forward(TestData.ToDouble(x), expectedY);
            TestData.AssertClose(expectedY, y, 1e-5, 1e-6, $"y[{n}]");

            var dy = TestData.Uniform(n, n + 1);
            var dx = new float[n]; var expectedDx = new double[n];
            Gelu.Backward(x, dy, dx);
            GeluReference.Backward(TestData.ToDouble(x), TestData.ToDouble(dy), expectedDx);
            TestData.AssertClose(expectedDx, dx, 1e-5, 1e-6, $"dx[{n}]");
        }
    }

    [Fact]
    public void OutputsMayOverwriteInputs()
    {
        var x = TestData.Uniform(45, 1, 3f); var dy = TestData.Uniform(45, 2);
        var y = new float[45]; var dx = new float[45];
        Gelu.Forward(x, y);
        Gelu.Backward(x, dy, dx);
        Gelu.Backward(x, dy, dy);
        Gelu.Forward(x, x);
        Assert.Equal(y, x);
        Assert.Equal(dx, dy);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Gelu.Forward(new float[5], new float[4]));
        Assert.Contains("Gelu.Forward: y has 4 elements, expected [5] = 5", e.Message);
        Assert.Throws<ArgumentException>(() => Gelu.Forward([], []));
        e = Assert.Throws<ArgumentException>(() => Gelu.Backward(new float[5], new float[5], new float[6]));
        Assert.Contains("Gelu.Backward: dx has 6 elements", e.Message);
        Assert.Throws<ArgumentException>(() => Gelu.Backward(new float[5], new float[3], new float[5]));
    }
}
