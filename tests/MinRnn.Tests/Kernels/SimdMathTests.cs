using System.Runtime.Intrinsics;
using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Kernels;

public unsafe class SimdMathTests
{
    [Fact]
    public void ExpIsWithinTwoUlpEverywhereInRangeAndSaturatesOutside()
    {
        var x = Sweep(-87.3f, 88.7f, 200_001);
        var y = Apply(x, exp: true);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Exp(x[i]);
            Assert.True(Math.Abs(y[i] - expected) <= 2.4e-7 * expected, $"exp({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
        var edges = Apply([-1000f, -88f, float.NegativeInfinity, 89f, float.PositiveInfinity, 0f], exp: true);
        Assert.Equal([0f, 0f, 0f, float.PositiveInfinity, float.PositiveInfinity, 1f], edges);
    }

    [Fact]
    public void Exp2OfNonPositiveArgumentsIsWithinTwoUlpAndZeroBelowTheNormals()
    {
        var x = Sweep(-125.5f, 0f, 200_001);
        var y = Exp2NonPositive(x);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Pow(2, x[i]);
            Assert.True(Math.Abs(y[i] - expected) <= 2.4e-7 * expected, $"2^{x[i]:R} = {y[i]:R}, expected {expected:R}");
        }
        Assert.Equal([1f, 0.5f, 0f, 0f, 0f], Exp2NonPositive([0f, -1f, -127f, -1000f, float.NegativeInfinity]));
    }

    /// <summary>SimdMath.Exp2NonPositive at every width this machine has, checked to agree lane for lane with the scalar one.</summary>
    static float[] Exp2NonPositive(float[] x)
    {
        var scalar = new float[x.Length];
        for (int i = 0; i < x.Length; i++) scalar[i] = SimdMath.Exp2NonPositive<SimdScalar, float>(x[i]);
        fixed (float* p = x)
        {
            for (int i = 0; i + 16 <= x.Length && Simd.Best >= SimdWidth.Bits512; i += 16)
            {
                var v = SimdMath.Exp2NonPositive<Simd512, Vector512<float>>(Vector512.Load(p + i));
                for (int j = 0; j < 16; j++) Assert.Equal(scalar[i + j], v[j]);
            }
            for (int i = 0; i + 8 <= x.Length && Simd.Best >= SimdWidth.Bits256; i += 8)
            {
                var v = SimdMath.Exp2NonPositive<Simd256, Vector256<float>>(Vector256.Load(p + i));
                for (int j = 0; j < 8; j++) Assert.Equal(scalar[i + j], v[j]);
            }
            for (int i = 0; i + 4 <= x.Length && Simd.Best >= SimdWidth.Bits128; i += 4)
            {
                var v = SimdMath.Exp2NonPositive<Simd128, Vector128<float>>(Vector128.Load(p + i));
                for (int j = 0; j < 4; j++) Assert.Equal(scalar[i + j], v[j]);
            }
        }
        return scalar;
    }

    [Fact]
    public void LogIsWithinTwoUlpOnPositiveNormals()
    {
        var x = new float[200_000];
        var random = new Random(3);
        for (int i = 0; i < x.Length; i++) x[i] = (float)Math.Exp(random.NextDouble() * 170 - 85);
        var y = Apply(x, exp: false);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Log(x[i]);
            Assert.True(Math.Abs(y[i] - expected) <= 2.4e-7 * Math.Max(Math.Abs(expected), 1e-30) + 1.2e-7 * (Math.Abs(expected) < 1 ? 1 : 0),
                $"log({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
        Assert.Equal([float.NegativeInfinity, float.PositiveInfinity, 0f], Apply([0f, float.PositiveInfinity, 1f], exp: false));
    }

    [Fact]
    public void NormalCdfIsWithinAnUlpOrTwoOfOneAndAFewUlpRelativeInTheLowerTail()
    {
        var x = Sweep(-14f, 14f, 56_001);
        var y = NormalCdf(x);
        for (int i = 0; i < x.Length; i++)
        {
            // Measured: 7.9e-8 absolute, 4.2e-7 relative below 0 (while Φ is a normal float).
            double expected = GeluExactReference.NormalCdf(x[i]);
            double tolerance = x[i] < 0 && expected > 1e-30 ? 6e-7 * expected : 1e-7;
            Assert.True(Math.Abs(y[i] - expected) <= tolerance, $"Φ({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
        Assert.Equal([0f, 1f, 0f, 1f, 0.5f, 0.5f, float.NaN],
            NormalCdf([float.NegativeInfinity, float.PositiveInfinity, -80f, 80f, 0f, -0f, float.NaN]));
    }

    /// <summary>SimdMath.NormalCdf at every width this machine has, checked to agree lane for lane with the scalar one.</summary>
    static float[] NormalCdf(float[] x)
    {
        var scalar = new float[x.Length];
        for (int i = 0; i < x.Length; i++) scalar[i] = SimdMath.NormalCdf<SimdScalar, float>(x[i]);
        fixed (float* p = x)
        {
            for (int i = 0; i + 16 <= x.Length && Simd.Best >= SimdWidth.Bits512; i += 16)
            {
                var v = SimdMath.NormalCdf<Simd512, Vector512<float>>(Vector512.Load(p + i));
                for (int j = 0; j < 16; j++) Assert.Equal(scalar[i + j], v[j]);
            }
            for (int i = 0; i + 8 <= x.Length && Simd.Best >= SimdWidth.Bits256; i += 8)
            {
                var v = SimdMath.NormalCdf<Simd256, Vector256<float>>(Vector256.Load(p + i));
                for (int j = 0; j < 8; j++) Assert.Equal(scalar[i + j], v[j]);
            }
            for (int i = 0; i + 4 <= x.Length && Simd.Best >= SimdWidth.Bits128; i += 4)
            {
                var v = SimdMath.NormalCdf<Simd128, Vector128<float>>(Vector128.Load(p + i));
                for (int j = 0; j < 4; j++) Assert.Equal(scalar[i + j], v[j]);
            }
        }
        return scalar;
    }

    static float[] Sweep(float from, float to, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = from + (to - from) * i / (count - 1);
        return x;
    }

    /// <summary>Runs the vector Exp or Log at every width this machine has and checks they agree lane for lane.</summary>
    static float[] Apply(float[] x, bool exp)
    {
        var scalar = new float[x.Length];
        for (int i = 0; i < x.Length; i++) scalar[i] = exp ? SimdScalar.Exp(x[i]) : SimdScalar.Log(x[i]);
        fixed (float* p = x)
        {
            for (int i = 0; i + 16 <= x.Length && Simd.Best >= SimdWidth.Bits512; i += 16)
            {
                var v = exp ? Simd512.Exp(Vector512.Load(p + i)) : Simd512.Log(Vector512.Load(p + i));
                for (int j = 0; j < 16; j++) Assert.Equal(scalar[i + j], v[j]);
            }
            for (int i = 0; i + 8 <= x.Length && Simd.Best >= SimdWidth.Bits256; i += 8)
            {
                var v = exp ? Simd256.Exp(Vector256.Load(p + i)) : Simd256.Log(Vector256.Load(p + i));
                for (int j = 0; j < 8; j++) Assert.Equal(scalar[i + j], v[j]);
            }
            for (int i = 0; i + 4 <= x.Length && Simd.Best >= SimdWidth.Bits128; i += 4)
            {
                var v = exp ? Simd128.Exp(Vector128.Load(p + i)) : Simd128.Log(Vector128.Load(p + i));
                for (int j = 0; j < 4; j++) Assert.Equal(scalar[i + j], v[j]);
            }
        }
        return scalar;
    }
}
