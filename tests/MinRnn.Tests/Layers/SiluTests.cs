using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class SiluTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        var x = TestData.ToDouble(TestData.Uniform(37, 1, 6f));
        var weights = TestData.ToDouble(TestData.Uniform(x.Length, 2));
        double Loss()
        {
            var y = new double[x.Length];
            SiluReference.Forward(x, y);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length];
        SiluReference.Backward(x, weights, dx);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (int n in new[] { 1, 7, 37, 1001 })
        {
            var x = TestData.Uniform(n, n, 8f);
            x[0] = n == 1 ? 0f : 40f;
            if (n > 2) x[^1] = -40f; // deep in the tails: silu ~ x and ~ -40 e^-40
            var y = new float[n]; var expectedY = new double[n];
            Silu.Forward(x, y);
            SiluReference.Forward(TestData.ToDouble(x), expectedY);
            TestData.AssertClose(expectedY, y, 1e-6, 1e-30, $"y[{n}]");

            var dy = TestData.Uniform(n, n + 1);
            var dx = new float[n]; var expectedDx = new double[n];
            Silu.Backward(x, dy, dx);
            SiluReference.Backward(TestData.ToDouble(x), TestData.ToDouble(dy), expectedDx);
            TestData.AssertClose(expectedDx, dx, 1e-5, 1e-30, $"dx[{n}]");
        }
    }

    [Fact]
    public void OutputsMayOverwriteInputs()
    {
        var x = TestData.Uniform(45, 1, 3f); var dy = TestData.Uniform(45, 2);
        var y = new float[45]; var dx = new float[45];
        Silu.Forward(x, y);
        Silu.Backward(x, dy, dx);
        Silu.Backward(x, dy, dy);
        Silu.Forward(x, x);
        Assert.Equal(y, x);
        Assert.Equal(dx, dy);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Silu.Forward(new float[5], new float[4]));
        Assert.Contains("Silu.Forward: y has 4 elements, expected [5] = 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => Silu.Backward(new float[5], new float[5], new float[6]));
        Assert.Contains("Silu.Backward: dx has 6 elements", e.Message);
    }
}
