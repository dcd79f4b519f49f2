using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Layer normalisation of each row of width dim with a weight and no bias (nanoGPT's LayerNorm with
/// bias=False, PyTorch's F.layer_norm with a weight): μ = Σ x / dim, σ² = Σ (x - μ)² / dim (biased),
/// r = 1 / sqrt(σ² + ε), y = (x - μ) · r · weight, ε = 1e-5.
/// <see cref="LayerNormReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class LayerNorm
{
    /// <summary>ε inside the square root.</summary>
    public const float Epsilon = 1e-5f;

    /// <summary>
    /// Rows of dWeight's reduction are split into at most this many fixed chunks, each summed into its
    /// own partial row; the partials are then added in chunk order. The split depends only on the
    /// number of rows, so the result is the same for any thread count.
    /// </summary>
    const int Chunks = 32;

    [ThreadStatic] static float[]? partials;

    /// <summary>
    /// y = (x - μ) · r · weight per row, with μ and r saved in <paramref name="mean"/> and <paramref name="rstd"/> [rows]
    /// for <see cref="Backward"/>. The variance is a second pass over x - μ, not E[x²] - μ², so a large mean costs no
    /// precision. y may be x itself (each row's μ and r are found before the row is written).
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer's length does not match its shape.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, Span<float> mean, Span<float> rstd,
        int rows, int dim)
    {
        const string op = "LayerNorm.Forward";
        Validate(op, x.Length, weight.Length, "y", y.Length, mean.Length, rstd.Length, rows, dim);
        fixed (float* px = x) fixed (float* w = weight) fixed (float* py = y) fixed (float* m = mean) fixed (float* s = rstd)
            VectorJob.For(rows, 5L * dim, new ForwardJob(px, w, py, m, s, dim));
    }

    /// <summary>
    /// Gradients from the saved μ and r, with x̂ = (x - μ) r and g = dy ⊙ weight:
    /// dx (=|+=) r (g - mean(g) - x̂ mean(g ⊙ x̂)) and dWeight += Σ_rows dy ⊙ x̂.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer's length does not match its shape.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dWeight, int rows, int dim, bool accumulateDx = false)
    {
        const string op = "LayerNorm.Backward";
        ValidateBackward(op, x.Length, weight.Length, mean.Length, rstd.Length, dy.Length, dx.Length, dWeight.Length, rows, dim);
        int chunks = Math.Min(Chunks, rows);
        float[] partial = Scratch.Get(ref partials, chunks * dim);
        fixed (float* px = x) fixed (float* w = weight) fixed (float* m = mean) fixed (float* s = rstd) fixed (float* g = dy)
        fixed (float* d = dx) fixed (float* dw = dWeight) fixed (float* p = partial)
        {
            VectorJob.For(chunks, (rows / chunks + 1) * 8L * dim,
                new BackwardJob(px, w, m, s, g, d, p, rows, dim, chunks, accumulateDx));
            ColumnSums.Accumulate(p, dw, chunks, dim);
        }
    }

    internal static void Validate(string op, int x, int weight, string outputName, int output, int mean, int rstd, int rows, int dim)
    {
        Check.Positive(op, ("rows", rows), ("dim", dim));
        Check.Length(op, "x", x, rows, dim);
        Check.Length(op, "weight", weight, dim);
        Check.Length(op, outputName, output, rows, dim);
        Check.Length(op, "mean", mean, rows);
        Check.Length(op, "rstd", rstd, rows);
    }

    internal static void ValidateBackward(string op, int x, int weight, int mean, int rstd, int dy, int dx, int dWeight, int rows, int dim)
    {
        Validate(op, x, weight, "dy", dy, mean, rstd, rows, dim);
        Check.Length(op, "dx", dx, rows, dim);
        Check.Length(op, "dWeight", dWeight, dim);
    }

    readonly struct ForwardJob(float* x, float* weight, float* y, float* mean, float* rstd, int dim) : IVectorJob
    {
        public long BytesMoved(int count) => 8L * count * (dim + 1);

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int r = start; r < end; r++)
            {
                float* xr = x + (long)r * dim;
                float mu = VectorOps.Sum<TOps, TV>(xr, dim) / dim;
                float rs = 1f / MathF.Sqrt(VectorOps.SumOfSquaredDeviations<TOps, TV>(xr, mu, dim) / dim + Epsilon);
                mean[r] = mu;
                rstd[r] = rs;
                Normalize<TOps, TV>(xr, weight, y + (long)r * dim, mu, rs, dim);
            }
        }
    }

    /// <summary>Chunk k covers rows [k·rows/chunks, (k+1)·rows/chunks) and owns partial row k.</summary>
    readonly struct BackwardJob(float* x, float* weight, float* mean, float* rstd, float* dy, float* dx, float* partials,
        int rows, int dim, int chunks, bool accumulate) : IVectorJob
    {
        public long BytesMoved(int count) => (accumulate ? 16L : 12L) * rows * dim + 8L * rows;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int k = start; k < end; k++)
            {
                float* partial = partials + (long)k * dim;
                new Span<float>(partial, dim).Clear();
                for (long r = (long)k * rows / chunks, r1 = (long)(k + 1) * rows / chunks; r < r1; r++)
                {
                    long offset = r * dim;
                    float mu = mean[r], rs = rstd[r];
                    var (sum, dot) = Sums<TOps, TV>(x + offset, weight, dy + offset, mu, dim);
                    BackwardRow<TOps, TV>(x + offset, weight, dy + offset, dx + offset, partial, mu, rs,
                        sum / dim, rs * rs * dot / dim, accumulate, dim);
                }
            }
        }
    }

    /// <summary>y = (x - mu) · rstd · w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Normalize<TOps, TV>(float* x, float* w, float* y, float mu, float rstd, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV m = TOps.Broadcast(mu), r = TOps.Broadcast(rstd);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
            TOps.Store(y + i, TOps.Mul(TOps.Mul(TOps.Sub(TOps.Load(x + i), m), r), TOps.Load(w + i)));
        if (i < n) Normalize<SimdScalar, float>(x + i, w + i, y + i, mu, rstd, n - i);
    }

    /// <summary>(Σ w dy, Σ w dy (x - mu)) over one row, in one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (float Sum, float Dot) Sums<TOps, TV>(float* x, float* w, float* dy, float mu, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV m = TOps.Broadcast(mu), sum = TOps.Zero, dot = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV g = TOps.Mul(TOps.Load(w + i), TOps.Load(dy + i));
            sum = TOps.Add(sum, g);
            dot = TOps.Fma(g, TOps.Sub(TOps.Load(x + i), m), dot);
        }
        var sums = (TOps.Sum(sum), TOps.Sum(dot));
        if (i == n) return sums;
        var tail = Sums<SimdScalar, float>(x + i, w + i, dy + i, mu, n - i);
        return (sums.Item1 + tail.Sum, sums.Item2 + tail.Dot);
    }

    /// <summary>
    /// dx (=|+=) rstd (w dy - a - (x - mu) c) with a = Σ w dy / dim = mean(g) and c = rstd² Σ w dy (x - mu) / dim
    /// = rstd mean(g ⊙ x̂); partial += dy (x - mu) rstd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void BackwardRow<TOps, TV>(float* x, float* w, float* dy, float* dx, float* partial, float mu, float rstd, float a, float c,
        bool accumulate, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV m = TOps.Broadcast(mu), r = TOps.Broadcast(rstd), av = TOps.Broadcast(a), cv = TOps.Broadcast(c);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV centered = TOps.Sub(TOps.Load(x + i), m), g = TOps.Load(dy + i);
            TV d = TOps.Mul(r, TOps.Sub(TOps.Fma(TOps.Neg(centered), cv, TOps.Mul(TOps.Load(w + i), g)), av));
            TOps.Store(dx + i, accumulate ? TOps.Add(TOps.Load(dx + i), d) : d);
            TOps.Store(partial + i, TOps.Fma(TOps.Mul(g, centered), r, TOps.Load(partial + i)));
        }
        if (i < n) BackwardRow<SimdScalar, float>(x + i, w + i, dy + i, dx + i, partial + i, mu, rstd, a, c, accumulate, n - i);
    }
}
