using MinRnn.Kernels;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

public class AdamWTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    static readonly AdamWOptions Options = new() { LearningRate = 0.1f, Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f, WeightDecay = 0.1f };

    [Fact]
    public void TwoStepsMatchAHandComputedExample()
    {
        // Element 0 with decay, gradients 0.5 then -0.25:
        //   t=1: p = 1 · (1 - 0.1·0.1) = 0.99; m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25;
        //        p = 0.99 - 0.1 · 0.5 / (0.5 + 1e-8) = 0.890000002
        //   t=2: p = 0.890000002 · 0.99 = 0.88110000198; m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225;
        //        m̂ = 0.02 / 0.19, v̂ = 0.00031225 / 0.001999; p = 0.88110000198 - 0.1 m̂ / (sqrt(v̂) + 1e-8) = 0.8544662987
        // Element 1 without decay, gradients 0.1 then 0.3:
        //   t=1: m = 0.01, v = 1e-5; m̂ = 0.1, v̂ = 0.01; p = -2 - 0.1 · 0.1 / (0.1 + 1e-8) = -2.09999999
        //   t=2: m = 0.009 + 0.03 = 0.039, v = 0.00000999 + 0.00009 = 0.00009999;
        //        p = -2.09999999 - 0.1 (0.039 / 0.19) / (sqrt(0.00009999 / 0.001999) + 1e-8) = -2.1917780978
        float[] p = [1f, -2f], m = new float[2], v = new float[2];
        float[][] gradients = [[0.5f, 0.1f], [-0.25f, 0.3f]];
        double[][] expectedP = [[0.890000002, -2.09999999], [0.8544662987, -2.1917780978]];
        double[][] expectedM = [[0.05, 0.01], [0.02, 0.039]];
        double[][] expectedV = [[0.00025, 1e-5], [0.00031225, 0.00009999]];
        for (int t = 1; t <= 2; t++)
        {
            var g = gradients[t - 1];
            AdamW.Step(p.AsSpan(0, 1), g.AsSpan(0, 1), m.AsSpan(0, 1), v.AsSpan(0, 1), t, Options);
            AdamW.Step(p.AsSpan(1, 1), g.AsSpan(1, 1), m.AsSpan(1, 1), v.AsSpan(1, 1), t, Options, decay: false);
            TestData.AssertClose(expectedP[t - 1], p, 1e-6, 0, $"p after step {t}");
            TestData.AssertClose(expectedM[t - 1], m, 1e-6, 0, $"m after step {t}");
            // 0.999f is not exactly 0.999: 1 - β2 is off by 1.3e-5 relative in float.
            TestData.AssertClose(expectedV[t - 1], v, 2e-5, 0, $"v after step {t}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (int n in new[] { 1, 37, 1000 })
        foreach (bool decay in new[] { true, false })
        {
            var p = TestData.Uniform(n, 1); var m = new float[n]; var v = new float[n];
            var pd = TestData.ToDouble(p); var md = new double[n]; var vd = new double[n];
            for (int t = 1; t <= 3; t++)
            {
                var g = TestData.Uniform(n, 10 + t, 0.1f);
                AdamW.Step(p, g, m, v, t, Options, decay);
                AdamWReference.Step(pd, TestData.ToDouble(g), md, vd, t, Options, decay);
            }
            TestData.AssertClose(pd, p, 1e-5, 1e-6, $"p[{n}], decay={decay}");
            TestData.AssertClose(md, m, 1e-5, 1e-7, $"m[{n}], decay={decay}");
            TestData.AssertClose(vd, v, 1e-5, 1e-9, $"v[{n}], decay={decay}");
        }
    }

    [Fact]
    public void BadInputIsRefused()
    {
        var a = new float[4];
        var e = Assert.Throws<ArgumentException>(() => AdamW.Step(a, new float[3], new float[4], new float[4], 1, Options));
        Assert.Contains("AdamW.Step: gradients has 3 elements, expected [4] = 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => AdamW.Step(a, a, a, a, 0, Options));
        Assert.Contains("step must be positive", e.Message);
        Assert.Throws<ArgumentException>(() => AdamW.Step([], [], [], [], 1, Options));
        Assert.Throws<ArgumentException>(() => AdamW.Step(new float[4], new float[4], new float[4], new float[4], 1, Options with { Beta2 = 1f }));
        Assert.Throws<ArgumentException>(() => AdamW.Step(new float[4], new float[4], new float[4], new float[4], 1, Options with { LearningRate = float.NaN }));
    }
}
