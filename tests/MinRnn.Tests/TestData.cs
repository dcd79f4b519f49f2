using MinRnn.Kernels;

namespace MinRnn.Tests;

/// <summary>Seeded random inputs and the comparisons the tests share.</summary>
internal static class TestData
{
    public static float[] Uniform(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return x;
    }

    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>Every vector width this machine can run, narrowest first.</summary>
    public static TheoryData<SimdWidth> Widths()
    {
        var data = new TheoryData<SimdWidth>();
        foreach (var w in new[] { SimdWidth.Scalar, SimdWidth.Bits128, SimdWidth.Bits256, SimdWidth.Bits512 })
            if ((int)w <= (int)Simd.Best) data.Add(w);
        return data;
    }

    /// <summary>Asserts |actual - expected| &lt;= atol + rtol * |expected| element-wise, naming the first failure.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!(Math.Abs(a - e) <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what}[{i}]: expected {e:R}, got {a:R} (rtol {rtol}, atol {atol})");
        }
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol, string what)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        AssertClose(e, actual, rtol, atol, what);
    }
}
