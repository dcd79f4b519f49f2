using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Root-mean-square normalisation of each row of width dim (spec §3):
/// y = x · r · weight with r = 1 / sqrt(mean(x²) + ε), ε = 1e-5.
/// <see cref="RmsNormReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class RmsNorm
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

    /// <summary>y = x · r · weight per row. y may be x itself (each row's r is found before the row is written).</summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer's length does not match its shape.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, int rows, int dim)
    {
        const string op = "RmsNorm.Forward";
        Validate(op, x.Length, weight.Length, "y", y.Length, rows, dim);
        fixed (float* px = x) fixed (float* w = weight) fixed (float* py = y)
            VectorJob.For(rows, 3L * dim, new ForwardJob(px, w, py, dim));
    }

    /// <summary>
    /// Gradients, with r recomputed from x: dx_j (=|+=) r (w_j dy_j - x_j r² Σ_i w_i dy_i x_i / dim) and
    /// dWeight_j += Σ_rows dy_j x_j r.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer's length does not match its shape.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, int rows, int dim, bool accumulateDx = false)
    {
        const string op = "RmsNorm.Backward";
        ValidateBackward(op, x.Length, weight.Length, dy.Length, dx.Length, dWeight.Length, rows, dim);
        int chunks = Math.Min(Chunks, rows);
        float[] partial = Scratch.Get(ref partials, chunks * dim);
        fixed (float* px = x) fixed (float* w = weight) fixed (float* g = dy) fixed (float* d = dx)
        fixed (float* dw = dWeight) fixed (float* p = partial)
        {
            VectorJob.For(chunks, (rows / chunks + 1) * 6L * dim, new BackwardJob(px, w, g, d, p, rows, dim, chunks, accumulateDx));
            ColumnSums.Accumulate(p, dw, chunks, dim);
        }
    }

    internal static void Validate(string op, int x, int weight, string outputName, int output, int rows, int dim)
    {
        Check.Positive(op, ("rows", rows), ("dim", dim));
        Check.Length(op, "x", x, rows, dim);
        Check.Length(op, "weight", weight, dim);
        Check.Length(op, outputName, output, rows, dim);
    }

    internal static void ValidateBackward(string op, int x, int weight, int dy, int dx, int dWeight, int rows, int dim)
    {
        Validate(op, x, weight, "dy", dy, rows, dim);
        Check.Length(op, "dx", dx, rows, dim);
        Check.Length(op, "dWeight", dWeight, dim);
    }

    readonly struct ForwardJob(float* x, float* weight, float* y, int dim) : IVectorJob
    {
        public long BytesMoved(int count) => 8L * count * dim;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int r = start; r < end; r++)
            {
                float* xr = x + (long)r * dim;
                float rstd = 1f / MathF.Sqrt(VectorOps.SumOfSquares<TOps, TV>(xr, dim) / dim + Epsilon);
                Normalize<TOps, TV>(xr, weight, y + (long)r * dim, rstd, dim);
            }
        }
    }

    /// <summary>Chunk k covers rows [k·rows/chunks, (k+1)·rows/chunks) and owns partial row k.</summary>
    readonly struct BackwardJob(float* x, float* weight, float* dy, float* dx, float* partials, int rows, int dim, int chunks, bool accumulate)
        : IVectorJob
    {
        public long BytesMoved(int count) => (accumulate ? 16L : 12L) * rows * dim; // x, dy (and dx) in, dx out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int k = start; k < end; k++)
            {
                float* partial = partials + (long)k * dim;
                new Span<float>(partial, dim).Clear();
                for (long r = (long)k * rows / chunks, r1 = (long)(k + 1) * rows / chunks; r < r1; r++)
                {
                    long offset = r * dim;
                    var (squares, dot) = Sums<TOps, TV>(x + offset, weight, dy + offset, dim);
                    float rstd = 1f / MathF.Sqrt(squares / dim + Epsilon);
                    BackwardRow<TOps, TV>(x + offset, weight, dy + offset, dx + offset, partial, rstd, rstd * rstd * dot / dim, accumulate, dim);
                }
            }
        }
    }

    /// <summary>y = x · rstd · w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Normalize<TOps, TV>(float* x, float* w, float* y, float rstd, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV r = TOps.Broadcast(rstd);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) TOps.Store(y + i, TOps.Mul(TOps.Mul(TOps.Load(x + i), r), TOps.Load(w + i)));
        if (i < n) Normalize<SimdScalar, float>(x + i, w + i, y + i, rstd, n - i);
    }

    /// <summary>(Σ x², Σ w dy x) over one row, in one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (float Squares, float Dot) Sums<TOps, TV>(float* x, float* w, float* dy, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV squares = TOps.Zero, dot = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Load(x + i);
            squares = TOps.Fma(v, v, squares);
            dot = TOps.Fma(TOps.Mul(TOps.Load(w + i), TOps.Load(dy + i)), v, dot);
        }
        var sums = (TOps.Sum(squares), TOps.Sum(dot));
        if (i == n) return sums;
        var tail = Sums<SimdScalar, float>(x + i, w + i, dy + i, n - i);
        return (sums.Item1 + tail.Squares, sums.Item2 + tail.Dot);
    }

    /// <summary>dx (=|+=) rstd (w dy - x c) with c = rstd² Σ w dy x / dim; partial += dy x rstd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void BackwardRow<TOps, TV>(float* x, float* w, float* dy, float* dx, float* partial, float rstd, float c, bool accumulate, int n)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        TV r = TOps.Broadcast(rstd), cv = TOps.Broadcast(c);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV xv = TOps.Load(x + i), g = TOps.Load(dy + i);
            TV d = TOps.Mul(r, TOps.Fma(TOps.Neg(xv), cv, TOps.Mul(TOps.Load(w + i), g)));
            TOps.Store(dx + i, accumulate ? TOps.Add(TOps.Load(dx + i), d) : d);
            TOps.Store(partial + i, TOps.Fma(TOps.Mul(g, xv), r, TOps.Load(partial + i)));
        }
        if (i < n) BackwardRow<SimdScalar, float>(x + i, w + i, dy + i, dx + i, partial + i, rstd, c, accumulate, n - i);
    }
}
