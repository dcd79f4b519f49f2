using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// SiLU (swish), PyTorch's F.silu, elementwise: silu(v) = v · σ(v), silu'(v) = σ(v) + v · σ(v) (1 - σ(v)), with σ(v) and
/// 1 - σ(v) = σ(-v) each formed directly (<see cref="SimdMath.SigmoidPair{TOps, TV}"/>), so neither loses precision in the tails.
/// <see cref="SiluReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class Silu
{
    /// <summary>y = silu(x). y may be x itself.</summary>
    /// <exception cref="ArgumentException">x is empty or y's length differs from x's.</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        Gelu.ValidateForward("Silu.Forward", x.Length, y.Length);
        fixed (float* px = x) fixed (float* py = y)
            VectorJob.For(x.Length, 12, new Job(px, null, py));
    }

    /// <summary>dx = dy · silu'(x). dx may be dy itself.</summary>
    /// <exception cref="ArgumentException">x is empty or dy's or dx's length differs from x's.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Gelu.ValidateBackward("Silu.Backward", x.Length, dy.Length, dx.Length);
        fixed (float* px = x) fixed (float* g = dy) fixed (float* d = dx)
            VectorJob.For(x.Length, 14, new Job(px, g, d));
    }

    /// <summary>silu(v) = v · σ(v).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Value<TOps, TV>(TV v) where TOps : struct, ISimd<TV> where TV : struct
    {
        SimdMath.SigmoidPair<TOps, TV>(v, out TV s, out _);
        return TOps.Mul(v, s);
    }

    /// <summary>silu(v) and silu'(v) = σ + v σ (1 - σ) together.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ValueAndSlope<TOps, TV>(TV v, out TV slope) where TOps : struct, ISimd<TV> where TV : struct
    {
        SimdMath.SigmoidPair<TOps, TV>(v, out TV s, out TV a);
        TV value = TOps.Mul(v, s);
        slope = TOps.Fma(value, a, s);
        return value;
    }

    /// <summary>Forward when dy is null (output = silu(x)), else backward (output = dy · silu'(x)).</summary>
    readonly struct Job(float* x, float* dy, float* output) : IVectorJob
    {
        public long BytesMoved(int count) => (dy == null ? 8L : 12L) * count; // x (and dy) in, output out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct =>
            Body<TOps, TV>(x + start, dy == null ? null : dy + start, output + start, end - start);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Body<TOps, TV>(float* x, float* dy, float* output, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Load(x + i);
            if (dy == null) TOps.Store(output + i, Value<TOps, TV>(v));
            else
            {
                ValueAndSlope<TOps, TV>(v, out TV slope);
                TOps.Store(output + i, TOps.Mul(TOps.Load(dy + i), slope));
            }
        }
        if (i < n) Body<SimdScalar, float>(x + i, dy == null ? null : dy + i, output + i, n - i);
    }
}
