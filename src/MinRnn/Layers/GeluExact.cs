using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// GELU, exact (erf) form, as PyTorch's nn.GELU() by default: gelu(v) = v Φ(v) = 0.5 v (1 + erf(v/√2)), elementwise,
/// with gelu'(v) = Φ(v) + v φ(v), φ(v) = e^(-v²/2)/√(2π).
/// For |v| &lt; 1, Φ(v) = 1/2 + v S(v²) (<see cref="SimdMath.NormalCdfOddPart{TOps, TV}"/>): gelu(v) = v (1/2 + v S), which
/// keeps gelu(-0) = -0, and gelu'(v) = 1/2 + v (S + φ). Beyond, from t = |v| and the tail Q(t) = 1 - Φ(t)
/// (<see cref="SimdMath.NormalTail{TOps, TV}"/>, to some 7 ulp relative however small): gelu(v) = v - t Q (one rounding) and
/// gelu'(v) = 1 + (t φ - Q) for v &gt; 0, gelu(v) = -(t Q) and gelu'(v) = Q - t φ for v &lt; 0, so the negative tail keeps
/// its relative precision instead of cancelling in 1 + erf. Against <see cref="GeluExactReference"/> (measured on 4M points
/// of [-14, 14]): gelu within 9.1e-8 max(1, |v|), and 4.4e-7 relative below 0; gelu' within 1.4e-7.
/// t is clamped at <see cref="SimdMath.NormalTailEnd"/>, where Q and φ are 0 already, so gelu(+∞) = +∞ and gelu(-∞) = -0
/// (the limits, not ∞ · 0), gelu'(±∞) = 1 and 0; NaN propagates. <see cref="Gelu"/> is the tanh approximation, and
/// <see cref="GeluExactReference"/> the double-precision oracle.
/// </summary>
internal static unsafe class GeluExact
{
    /// <summary>y = gelu(x). y may be x itself.</summary>
    /// <exception cref="ArgumentException">x is empty or y's length differs from x's.</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        Gelu.ValidateForward("GeluExact.Forward", x.Length, y.Length);
        fixed (float* px = x) fixed (float* py = y)
            VectorJob.For(x.Length, 36, new Job(px, null, py));
    }

    /// <summary>dx = dy · gelu'(x). dx may be dy itself.</summary>
    /// <exception cref="ArgumentException">x is empty or dy's or dx's length differs from x's.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Gelu.ValidateBackward("GeluExact.Backward", x.Length, dy.Length, dx.Length);
        fixed (float* px = x) fixed (float* g = dy) fixed (float* d = dx)
            VectorJob.For(x.Length, 40, new Job(px, g, d));
    }

    /// <summary>Forward when dy is null (output = gelu(x)), else backward (output = dy · gelu'(x)).</summary>
    readonly struct Job(float* x, float* dy, float* output) : IVectorJob
    {
        public long BytesMoved(int count) => (dy == null ? 8L : 12L) * count; // x (and dy) in, output out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct =>
            Body<TOps, TV>(x + start, dy == null ? null : dy + start, output + start, end - start);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Body<TOps, TV>(float* x, float* dy, float* output, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV half = TOps.Broadcast(0.5f), split = TOps.Broadcast(SimdMath.NormalCdfSplit);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Load(x + i), square = TOps.Mul(v, v), t = SimdMath.NormalTailArgument<TOps, TV>(v);
            TV s = SimdMath.NormalCdfOddPart<TOps, TV>(square);
            TV q = SimdMath.NormalTail<TOps, TV>(t, out TV density);
            if (dy == null)
            {
                TV central = TOps.Mul(v, TOps.Fma(v, s, half));
                TV tail = TOps.SelectNonNegative(v, TOps.Fma(TOps.Neg(t), q, v), TOps.Neg(TOps.Mul(t, q)));
                TOps.Store(output + i, TOps.SelectLess(t, split, central, tail));
                continue;
            }
            TV centralSlope = TOps.Fma(v, TOps.Add(s, density), half);
            TV tailSlope = TOps.SelectNonNegative(v, TOps.Add(TOps.Broadcast(1f), TOps.Fma(t, density, TOps.Neg(q))),
                TOps.Fma(TOps.Neg(t), density, q));
            TOps.Store(output + i, TOps.Mul(TOps.Load(dy + i), TOps.SelectLess(t, split, centralSlope, tailSlope)));
        }
        if (i < n) Body<SimdScalar, float>(x + i, dy == null ? null : dy + i, output + i, n - i);
    }
}
