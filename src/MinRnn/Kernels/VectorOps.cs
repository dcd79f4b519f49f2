using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;

namespace MinRnn.Kernels;

/// <summary>
/// Small vector loops the layers share. Each runs whole vectors of TOps
/// and hands the tail to its own <see cref="SimdScalar"/> instantiation.
/// </summary>
internal static unsafe class VectorOps
{
    /// <summary>dst[i] += src[i] at the current <see cref="Simd.Width"/>.</summary>
    public static void AddTo(Span<float> dst, ReadOnlySpan<float> src)
    {
        Check.Length("VectorOps.AddTo", "src", src.Length, dst.Length);
        fixed (float* d = dst) fixed (float* s = src)
        {
            switch (Simd.Width)
            {
                case SimdWidth.Bits512: AddTo<Simd512, Vector512<float>>(d, s, dst.Length); break;
                case SimdWidth.Bits256: AddTo<Simd256, Vector256<float>>(d, s, dst.Length); break;
                case SimdWidth.Bits128: AddTo<Simd128, Vector128<float>>(d, s, dst.Length); break;
                default: AddTo<SimdScalar, float>(d, s, dst.Length); break;
            }
        }
    }

    /// <summary>dst[i] += src[i] for i &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo<TOps, TV>(float* dst, float* src, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) TOps.Store(dst + i, TOps.Add(TOps.Load(dst + i), TOps.Load(src + i)));
        if (i < n) AddTo<SimdScalar, float>(dst + i, src + i, n - i);
    }

    /// <summary>y[i] = a[i] + b[i] for i &lt; n with vectors of <typeparamref name="TOps"/>; y may be a or b itself.</summary>
    public static void Add<TOps, TV>(float* a, float* b, float* y, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) TOps.Store(y + i, TOps.Add(TOps.Load(a + i), TOps.Load(b + i)));
        if (i < n) Add<SimdScalar, float>(a + i, b + i, y + i, n - i);
    }

    /// <summary>dst[i] += amount · (src[i] − dst[i]) at the current <see cref="Simd.Width"/>; no fused multiply-add, so every width gives the scalar result.</summary>
    public static void MoveToward(Span<float> dst, ReadOnlySpan<float> src, float amount)
    {
        Check.Length("VectorOps.MoveToward", "src", src.Length, dst.Length);
        fixed (float* d = dst) fixed (float* s = src)
        {
            switch (Simd.Width)
            {
                case SimdWidth.Bits512: MoveToward<Simd512, Vector512<float>>(d, s, amount, dst.Length); break;
                case SimdWidth.Bits256: MoveToward<Simd256, Vector256<float>>(d, s, amount, dst.Length); break;
                case SimdWidth.Bits128: MoveToward<Simd128, Vector128<float>>(d, s, amount, dst.Length); break;
                default: MoveToward<SimdScalar, float>(d, s, amount, dst.Length); break;
            }
        }
    }

    /// <summary>dst[i] += amount · (src[i] − dst[i]) for i &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MoveToward<TOps, TV>(float* dst, float* src, float amount, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV a = TOps.Broadcast(amount);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV d = TOps.Load(dst + i);
            TOps.Store(dst + i, TOps.Add(d, TOps.Mul(a, TOps.Sub(TOps.Load(src + i), d))));
        }
        if (i < n) MoveToward<SimdScalar, float>(dst + i, src + i, amount, n - i);
    }

    /// <summary>x[i] *= factor for i &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale<TOps, TV>(float* x, float factor, int n) where TOps : struct, ISimd<TV> where TV : struct =>
        Scale<TOps, TV>(x, factor, x, n);

    /// <summary>y[i] = x[i] · factor for i &lt; n; y may be x itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale<TOps, TV>(float* x, float factor, float* y, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV f = TOps.Broadcast(factor);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) TOps.Store(y + i, TOps.Mul(TOps.Load(x + i), f));
        if (i < n) Scale<SimdScalar, float>(x + i, factor, y + i, n - i);
    }

    /// <summary>
    /// dst[i] = src[i] for i &lt; n, inline: the short rows of a kernel's inner loops (a head's 64 floats), where a call to
    /// the runtime's general copy costs more than the copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy<TOps, TV>(float* src, float* dst, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) TOps.Store(dst + i, TOps.Load(src + i));
        for (; i < n; i++) dst[i] = src[i];
    }

    /// <summary>Σ x[i]² for i &lt; n, one partial sum per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumOfSquares<TOps, TV>(float* x, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV acc = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Load(x + i);
            acc = TOps.Fma(v, v, acc);
        }
        float sum = TOps.Sum(acc);
        return i < n ? sum + SumOfSquares<SimdScalar, float>(x + i, n - i) : sum;
    }

    /// <summary>Σ x[i] for i &lt; n, one partial sum per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum<TOps, TV>(float* x, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV acc = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) acc = TOps.Add(acc, TOps.Load(x + i));
        float sum = TOps.Sum(acc);
        return i < n ? sum + Sum<SimdScalar, float>(x + i, n - i) : sum;
    }

    /// <summary>Σ (x[i] − center)² for i &lt; n, one partial sum per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumOfSquaredDeviations<TOps, TV>(float* x, float center, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV c = TOps.Broadcast(center), acc = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Sub(TOps.Load(x + i), c);
            acc = TOps.Fma(v, v, acc);
        }
        float sum = TOps.Sum(acc);
        return i < n ? sum + SumOfSquaredDeviations<SimdScalar, float>(x + i, center, n - i) : sum;
    }

    /// <summary>The largest lane of <paramref name="v"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross<TOps, TV>(TV v) where TOps : struct, ISimd<TV> where TV : struct
    {
        float* lanes = stackalloc float[TOps.Count];
        TOps.Store(lanes, v);
        float max = lanes[0];
        for (int i = 1; i < TOps.Count; i++) max = MathF.Max(max, lanes[i]);
        return max;
    }
}

/// <summary>
/// sums[c] += Σ_r matrix[r, c] for a row-major [rows, cols] matrix, rows added one after another.
/// Threads take column ranges, so every sum is formed in the same order for any thread count.
/// </summary>
internal readonly unsafe struct ColumnSums : IVectorJob
{
    public long BytesMoved(int count) => 4L * rows * cols + 8L * cols;

    readonly float* matrix, sums;
    readonly int rows, cols;

    ColumnSums(float* matrix, float* sums, int rows, int cols)
    {
        this.matrix = matrix; this.sums = sums; this.rows = rows; this.cols = cols;
    }

    /// <summary>sums[0..cols] += the column sums of matrix [rows, cols].</summary>
    public static void Accumulate(float* matrix, float* sums, int rows, int cols) =>
        VectorJob.For(cols, rows, new ColumnSums(matrix, sums, rows, cols));

    public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
    {
        for (int r = 0; r < rows; r++)
            VectorOps.AddTo<TOps, TV>(sums + start, matrix + (long)r * cols + start, end - start);
    }
}
