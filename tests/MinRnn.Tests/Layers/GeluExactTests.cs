using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class GeluExactTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(2.0, 0.9953222650189527)]
    [InlineData(-1.0, -0.8427007929497149)]
    [InlineData(3.0, 0.9999779095030014)]
    public void ReferenceErfMatchesKnownValues(double x, double erf)
    {
        Assert.Equal(erf, GeluExactReference.Erf(x), 1e-14);
        Assert.Equal(1 - erf, GeluExactReference.Erfc(x), 1e-14);
    }

    [Fact]
    public void ReferenceErfcKeepsItsRelativePrecisionInTheTail()
    {
        // erfc(x) to 1e-14 relative, also where 1 - erf(x) would have lost every digit; values from mpmath at 30 digits.
        foreach (var (x, erfc) in new[] { (0.25, 0.7236736098317631), (5.0, 1.537459794428035e-12), (10.0, 2.088487583762545e-45),
                     (-2.0, 1.9953222650189528) })
        {
            double actual = GeluExactReference.Erfc(x);
            Assert.True(Math.Abs(actual - erfc) <= 1e-14 * erfc, $"erfc({x}) = {actual:R}, expected {erfc:R}");
        }
        Assert.Equal(1.0, GeluExactReference.Erf(double.PositiveInfinity));
        Assert.Equal(-1.0, GeluExactReference.Erf(double.NegativeInfinity));
        Assert.Equal(0.0, GeluExactReference.Erfc(double.PositiveInfinity));
        Assert.True(double.IsNaN(GeluExactReference.Erf(double.NaN)));
    }

    [Fact]
    public void ReferenceMatchesPyTorch()
    {
        // torch.nn.functional.gelu in float64 at 1, -1 and 0.5.
        var x = new[] { 1.0, -1.0, 0.5, -3.0, -5.0, -10.0, 2.0 };
        var y = new double[x.Length];
        GeluExactReference.Forward(x, y);
        Assert.Equal(0.8413447460685429, y[0], 1e-15);
        Assert.Equal(-0.15865525393145707, y[1], 1e-15);
        Assert.Equal(0.34573123063700656, y[2], 1e-15);
        // -0.004049694849328 is a float32 result at -3, 1.9e-7 relative from the exact value (mpmath, as are the rest).
        Assert.Equal(-0.0040496940948902835, y[3], 1e-17);
        Assert.Equal(-1.4332578593959695e-06, y[4], 1e-19);
        Assert.Equal(-7.619853024160526e-23, y[5], 1e-36);
        Assert.Equal(1.9544997361036416, y[6], 1e-15);

        var dx = new double[x.Length];
        GeluExactReference.Backward(x, [1, 1, 1, 1, 1, 1, 1], dx);
        Assert.Equal(-7.146946001792295e-06, dx[4], 1e-19);
        Assert.Equal(-7.618400096464814e-22, dx[5], 1e-35);
        Assert.Equal(1.085231801078197, dx[6], 1e-15);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesPyTorchToFloatPrecision(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        var x = new[] { 1f, -1f, 0.5f, -3f };
        var expected = new[] { 0.8413447460685429, -0.15865525393145707, 0.34573123063700656, -0.004049694849328 };
        var y = new float[x.Length];
        GeluExact.Forward(x, y);
        TestData.AssertClose(expected, y, 1e-6, 0, "y"); // float precision, and the float32 rounding in the value at -3
    }

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        var x = TestData.ToDouble(TestData.Uniform(37, 1, 6f));
        var weights = TestData.ToDouble(TestData.Uniform(x.Length, 2));
        double Loss()
        {
            var y = new double[x.Length];
            GeluExactReference.Forward(x, y);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length];
        GeluExactReference.Backward(x, weights, dx);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
    }

    /// <summary>A grid over [-12, 12] in steps of 1/256, random values and special ones: 7164 (no whole number of vectors).</summary>
    static float[] Inputs()
    {
        var x = new List<float>();
        for (int k = -12 * 256; k <= 12 * 256; k++) x.Add(k / 256f);
        x.AddRange(TestData.Uniform(1001, 7, 12f));
        x.AddRange([80f, -80f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, 1e-30f, -1e-30f, float.Epsilon,
            13.25f, -13.25f, 14f, -14f, 14.5f, -14.5f, float.MaxValue, float.MinValue]);
        return [.. x];
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReferenceEverywhere(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        var x = Inputs();
        var y = new float[x.Length]; var expectedY = new double[x.Length];
        GeluExact.Forward(x, y);
        GeluExactReference.Forward(TestData.ToDouble(x), expectedY);
        for (int i = 0; i < x.Length; i++)
        {
            // Within 1.5e-7 max(1, |x|) everywhere (measured: 9.1e-8), and within 6e-7 relative (4.4e-7) below 0,
            // as long as gelu is a normal float.
            double tolerance = 1.5e-7 * Math.Max(1, Math.Abs(x[i]));
            if (x[i] < 0 && Math.Abs(expectedY[i]) > 1e-30) tolerance = Math.Min(tolerance, 6e-7 * Math.Abs(expectedY[i]));
            AssertClose(expectedY[i], y[i], tolerance, $"gelu({x[i]:R})");
        }

        var dy = TestData.Uniform(x.Length, 8);
        var dx = new float[x.Length]; var expectedDx = new double[x.Length];
        GeluExact.Backward(x, dy, dx);
        GeluExactReference.Backward(TestData.ToDouble(x), TestData.ToDouble(dy), expectedDx);
        for (int i = 0; i < x.Length; i++)
        {
            // Within 2.5e-7 |dy| (measured: 1.8e-7), and 6e-7 relative (3.4e-7) below -2, past the zero of gelu' at -0.75.
            double tolerance = 2.5e-7 * Math.Abs(dy[i]);
            if (x[i] < -2 && Math.Abs(expectedDx[i]) > 1e-30) tolerance = Math.Min(tolerance, 6e-7 * Math.Abs(expectedDx[i]));
            AssertClose(expectedDx[i], dx[i], tolerance, $"dx at x = {x[i]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryWidthGivesTheScalarResult(SimdWidth width)
    {
        var x = Inputs(); var dy = TestData.Uniform(x.Length, 9);
        var scalarY = new float[x.Length]; var scalarDx = new float[x.Length];
        using (Simd.Force(SimdWidth.Scalar))
        {
            GeluExact.Forward(x, scalarY);
            GeluExact.Backward(x, dy, scalarDx);
        }
        using var _ = Simd.Force(width);
        var y = new float[x.Length]; var dx = new float[x.Length];
        GeluExact.Forward(x, y);
        GeluExact.Backward(x, dy, dx);
        Assert.Equal(scalarY, y);
        Assert.Equal(scalarDx, dx);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void InfinitiesGiveTheLimitsAndNaNPropagates(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        var x = new[] { float.PositiveInfinity, float.NegativeInfinity, float.NaN, -0f, 0f, -80f, 80f, -13.5f };
        var y = new float[x.Length];
        GeluExact.Forward(x, y);
        Assert.Equal(float.PositiveInfinity, y[0]);
        Assert.True(y[1] == 0 && float.IsNegative(y[1]), $"gelu(-inf) = {y[1]:R}, expected -0");
        Assert.True(float.IsNaN(y[2]));
        Assert.True(y[3] == 0 && float.IsNegative(y[3]), $"gelu(-0) = {y[3]:R}, expected -0");
        Assert.True(y[4] == 0 && !float.IsNegative(y[4]), $"gelu(0) = {y[4]:R}, expected 0");
        Assert.True(y[5] == 0 && float.IsNegative(y[5]), $"gelu(-80) = {y[5]:R}, expected -0");
        Assert.Equal(80f, y[6]);
        Assert.True(y[7] <= 0 && y[7] > -1e-38f, $"gelu(-13.5) = {y[7]:R}, expected 0 or tiny");

        var dx = new float[x.Length];
        GeluExact.Backward(x, [2f, 2f, 2f, 2f, 2f, 2f, 2f, 2f], dx);
        Assert.Equal([2f, 0f, float.NaN, 1f, 1f, 0f, 2f, 0f], dx);
    }

    [Fact]
    public void OutputsMayOverwriteInputs()
    {
        var x = TestData.Uniform(45, 1, 3f); var dy = TestData.Uniform(45, 2);
        var y = new float[45]; var dx = new float[45];
        GeluExact.Forward(x, y);
        GeluExact.Backward(x, dy, dx);
        GeluExact.Backward(x, dy, dy);
        GeluExact.Forward(x, x);
        Assert.Equal(y, x);
        Assert.Equal(dx, dy);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => GeluExact.Forward(new float[5], new float[4]));
        Assert.Contains("GeluExact.Forward: y has 4 elements, expected [5] = 5", e.Message);
        Assert.Throws<ArgumentException>(() => GeluExact.Forward([], []));
        e = Assert.Throws<ArgumentException>(() => GeluExact.Backward(new float[5], new float[5], new float[6]));
        Assert.Contains("GeluExact.Backward: dx has 6 elements", e.Message);
        Assert.Throws<ArgumentException>(() => GeluExact.Backward(new float[5], new float[3], new float[5]));
        Assert.Throws<ArgumentException>(() => GeluExactReference.Forward(new double[5], new double[4]));
    }

    /// <summary>NaN for NaN, infinities exactly, otherwise |actual - expected| &lt;= tolerance.</summary>
    static void AssertClose(double expected, float actual, double tolerance, string what)
    {
        bool ok = double.IsNaN(expected) ? float.IsNaN(actual)
            : double.IsInfinity(expected) ? actual == expected
            : Math.Abs(actual - expected) <= tolerance;
        if (!ok) Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:E2})");
    }
}
