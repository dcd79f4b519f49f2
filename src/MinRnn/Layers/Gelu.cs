using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// GELU, tanh form (spec §3): gelu(v) = 0.5 v (1 + tanh(u)), u = sqrt(2/π) (v + 0.044715 v³), elementwise.
/// Computed as v · s with s = 0.5 (1 + tanh u) = 1 / (1 + e), e = exp(-2u), which needs one exp and
/// keeps the derivative's s (1 - s) = s² e free of cancellation:
/// gelu'(v) = s + v · s² e · 2 sqrt(2/π) (1 + 3 · 0.044715 v²).
/// <see cref="GeluReference"/> is the double-precision oracle, written with tanh.
/// </summary>
internal static unsafe class Gelu
{
    const float Sqrt2OverPi = 0.7978845608f, Cubic = 0.044715f;
    /// <summary>-2u is clamped here so that e stays finite (s is then ~1e-35 and gelu(v) ~ 0).</summary>
    const float MaxExponent = 80f;

    /// <summary>y = gelu(x). y may be x itself.</summary>
    /// <exception cref="ArgumentException">x is empty or y's length differs from x's.</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        ValidateForward("Gelu.Forward", x.Length, y.Length);
        fixed (float* px = x) fixed (float* py = y)
            VectorJob.For(x.Length, 16, new Job(px, null, py));
    }

    /// <summary>dx = dy · gelu'(x). dx may be dy itself.</summary>
    /// <exception cref="ArgumentException">x is empty or dy's or dx's length differs from x's.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        ValidateBackward("Gelu.Backward", x.Length, dy.Length, dx.Length);
        fixed (float* px = x) fixed (float* g = dy) fixed (float* d = dx)
            VectorJob.For(x.Length, 20, new Job(px, g, d));
    }

    internal static void ValidateForward(string op, int x, int y)
    {
        Check.Positive(op, ("x.Length", x));
        Check.Length(op, "y", y, x);
    }

    internal static void ValidateBackward(string op, int x, int dy, int dx)
    {
        Check.Positive(op, ("x.Length", x));
        Check.Length(op, "dy", dy, x);
        Check.Length(op, "dx", dx, x);
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
        TV one = TOps.Broadcast(1f), c = TOps.Broadcast(Sqrt2OverPi), a = TOps.Broadcast(Cubic);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Load(x + i), v2 = TOps.Mul(v, v);
            TV u = TOps.Mul(TOps.Mul(c, v), TOps.Fma(a, v2, one));
            TV e = TOps.Exp(TOps.Min(TOps.Mul(TOps.Broadcast(-2f), u), TOps.Broadcast(MaxExponent)));
            TV s = TOps.Div(one, TOps.Add(one, e));
            if (dy == null)
            {
                TOps.Store(output + i, TOps.Mul(v, s));
                continue;
            }
            TV slope = TOps.Mul(TOps.Mul(TOps.Broadcast(2f), c), TOps.Fma(TOps.Broadcast(3f * Cubic), v2, one)); // 2 du/dv
            TV derivative = TOps.Fma(TOps.Mul(v, TOps.Mul(TOps.Mul(s, s), e)), slope, s);
            TOps.Store(output + i, TOps.Mul(TOps.Load(dy + i), derivative));
        }
        if (i < n) Body<SimdScalar, float>(x + i, dy == null ? null : dy + i, output + i, n - i);
    }
}
