using MinRnn.Kernels;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

public class GradientClippingTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    static float[][] Gradients() => [TestData.Uniform(1, 1), [], TestData.Uniform(4097, 2), TestData.Uniform(10_000, 3, 0.01f), TestData.Uniform(37, 4)];

    [Theory]
    [MemberData(nameof(Widths))]
    public void GlobalNormMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        var g = Gradients();
        double expected = GradientClippingReference.GlobalNorm(g.Select(TestData.ToDouble).ToArray());
        Assert.Equal(expected, GradientClipping.GlobalNorm(g.Select(a => (Memory<float>)a).ToArray()), 1e-6 * expected);
        Assert.Equal(0, GradientClipping.GlobalNorm());
    }

    [Fact]
    public void ClippingScalesToExactlyTheMaximumNorm()
    {
        var g = Gradients();
        var before = g.Select(TestData.ToDouble).ToArray();
        double norm = GradientClippingReference.GlobalNorm(before);
        const float maxNorm = 0.25f;
        Assert.True(norm > maxNorm);
        double returned = GradientClipping.ClipByGlobalNorm(maxNorm, g[0], g[1], g[2], g[3], g[4]);
        Assert.Equal(norm, returned, 1e-6 * norm);
        Assert.Equal(maxNorm, GradientClippingReference.GlobalNorm(g.Select(TestData.ToDouble).ToArray()), 1e-6);
        GradientClippingReference.ClipByGlobalNorm(maxNorm, before);
        for (int i = 0; i < g.Length; i++) TestData.AssertClose(before[i], g[i], 1e-6, 0, $"g{i}");
    }

    [Fact]
    public void GradientsBelowTheMaximumAreUntouched()
    {
        var g = TestData.Uniform(100, 1, 0.01f);
        var copy = (float[])g.Clone();
        double norm = GradientClipping.ClipByGlobalNorm(1f, g);
        Assert.True(norm < 1);
        Assert.Equal(copy, g);
    }

    [Fact]
    public void NormDoesNotDependOnThreadCount()
    {
        var g = new[] { TestData.Uniform(300_000, 1), TestData.Uniform(5_000, 2) };
        var (one, two) = ThreadCount.OneThenTwo(() => GradientClipping.GlobalNorm(g[0], g[1]));
        Assert.Equal(one, two);
    }

    [Fact]
    public void NonFiniteNormIsReturnedAndGradientsAreLeftAlone()
    {
        var g = TestData.Uniform(50, 1);
        g[17] = float.NaN;
        var copy = (float[])g.Clone();
        double norm = GradientClipping.ClipByGlobalNorm(0.1f, g);
        Assert.True(double.IsNaN(norm));
        Assert.Equal(copy, g);
        var e = Assert.Throws<NotFiniteNumberException>(() => GradientClipping.ThrowIfNonFinite(norm));
        Assert.Contains("GradientClipping", e.Message);
        g[17] = float.PositiveInfinity;
        Assert.Throws<NotFiniteNumberException>(() => GradientClipping.ThrowIfNonFinite(GradientClipping.GlobalNorm(g)));
        GradientClipping.ThrowIfNonFinite(1.5);
    }

    [Fact]
    public void BadMaximumIsRefused()
    {
        foreach (float bad in new[] { 0f, -1f, float.NaN, float.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentException>(() => GradientClipping.ClipByGlobalNorm(bad, new float[3]));
            Assert.Contains("GradientClipping.ClipByGlobalNorm: maxNorm", e.Message);
        }
    }
}
