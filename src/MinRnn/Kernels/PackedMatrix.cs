using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MinRnn.Kernels;

/// <summary>
/// A weight W [n, k] (nn.Linear's layout) packed once into <see cref="Gemm"/>'s column panels, for many
/// products y = x · Wᵀ + b with few rows of x. Generation multiplies a handful of streams by the same
/// weights at every character: packed once, each step skips repacking W (all of it, for a few rows),
/// and a single row takes a matrix-vector kernel that streams every panel exactly once.
/// Panel q holds packed[q][p][j] = W[q·nr + j, p] for the nr = 2 vectors of the SIMD width in use
/// when it was packed (columns past n are 0). Every element of y is summed in the order p = 0..k-1 by
/// one thread, so results do not depend on the thread count.
/// <para>A product of one row reads all of W for 2·n·k flops: it is bound by how fast one core reads W from
/// cache, so splitting its panels between the team's cores nearly halves it, from a few thousand multiplies
/// on. Whether to is the packer's choice (<c>oneRowOnTeam</c>): worth it when the stepping thread owns the
/// cores (a generator), not when they are shared with other work (a server's HTTP threads).</para>
/// </summary>
internal sealed unsafe class PackedMatrix
{
    const long SerialMultiplies = 1L << 20; // about 5 µs of work on one core: less is not worth the team
    const long SerialOneRowMultiplies = 1L << 14; // 64 kB of W, about 1 µs from L3: three times the team's start-up
    const int Prefetch = 512; // floats ahead of the loads that the matrix-vector kernel prefetches (2 KB)

    readonly AlignedBuffer storage = new();
    readonly float* panels;
    readonly SimdWidth width;
    readonly int columnsPerPanel;
    readonly long serialOneRow;

    PackedMatrix(int n, int k, SimdWidth width, int columnsPerPanel, bool oneRowOnTeam)
    {
        N = n;
        K = k;
        this.width = width;
        this.columnsPerPanel = columnsPerPanel;
        serialOneRow = oneRowOnTeam ? SerialOneRowMultiplies : SerialMultiplies;
        panels = storage.Get((long)PanelCount * k * columnsPerPanel);
    }

    /// <summary>Output features n (rows of W).</summary>
    public int N { get; }

    /// <summary>Input features k (columns of W).</summary>
    public int K { get; }

    /// <summary>Column panels of the packed W: <see cref="MultiplyPanels"/> computes y's columns panel by panel.</summary>
    public int PanelCount => (N + columnsPerPanel - 1) / columnsPerPanel;

    /// <summary>The columns [Start, End) of y that panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) hold.</summary>
    public (int Start, int End) PanelColumns(int firstPanel, int endPanel) =>
        (Math.Min(firstPanel * columnsPerPanel, N), Math.Min(endPanel * columnsPerPanel, N));

    /// <summary>The panels [First, End) that hold columns [<paramref name="firstColumn"/>, <paramref name="endColumn"/>) of y.</summary>
    public (int First, int End) PanelsOf(int firstColumn, int endColumn) =>
        (firstColumn / columnsPerPanel, (endColumn + columnsPerPanel - 1) / columnsPerPanel);

    /// <summary>The most columns a panel holds at any width: two vectors of 16.</summary>
    public const int MaxColumnsPerPanel = 32;

    /// <summary>
    /// Packs <paramref name="weight"/> [n, k] for the current SIMD width; with <paramref name="transposed"/>,
    /// the weight is stored [k, n] (so the products are y = x · weight). With <paramref name="oneRowOnTeam"/>, products of
    /// one row are split between the team's threads from <see cref="SerialOneRowMultiplies"/> multiplies on, instead of
    /// from <see cref="SerialMultiplies"/> as products of several rows are.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive or the length does not match.</exception>
    public static PackedMatrix Pack(ReadOnlySpan<float> weight, int n, int k, bool transposed = false, bool oneRowOnTeam = false)
    {
        const string op = "PackedMatrix.Pack";
        Check.Positive(op, ("n", n), ("k", k));
        Check.Length(op, "weight", weight.Length, n, k);
        var width = Simd.Width;
        var packed = new PackedMatrix(n, k, width, 2 * Lanes(width), oneRowOnTeam);
        fixed (float* w = weight)
        {
            var job = new Gemm.Job(null, w, null, null, 1, n, k, transposeA: false, transposeB: !transposed, accumulate: false);
            Gemm.PackB(job, packed.panels, 0, k, 0, n, 0, packed.PanelCount, packed.columnsPerPanel);
        }
        return packed;
    }

    /// <summary>y [rows, n] = x [rows, k] · Wᵀ + bias (bias [n], or empty for none).</summary>
    /// <exception cref="ArgumentException">A length does not match or y overlaps x.</exception>
    public void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y, int rows)
    {
        const string op = "PackedMatrix.Multiply";
        Check.Positive(op, ("rows", rows));
        Check.Length(op, "x", x.Length, rows, K);
        Check.Length(op, "y", y.Length, rows, N);
        if (!bias.IsEmpty) Check.Length(op, "bias", bias.Length, N);
        Check.Disjoint(op, "x", x, "y", y);
        using var _ = OperationProfile.Enabled
            ? OperationProfile.Measure($"packed product {rows}×{N}×{K}", 2.0 * rows * N * K, sizeof(float) * ((double)N * K + (double)rows * (N + K)))
            : default;
        fixed (float* px = x) fixed (float* pb = bias) fixed (float* py = y)
        {
            float* biasRow = bias.IsEmpty ? null : pb;
            switch (width)
            {
                case SimdWidth.Bits512: Run<Simd512, Vector512<float>>(px, biasRow, py, rows); break;
                case SimdWidth.Bits256: Run<Simd256, Vector256<float>>(px, biasRow, py, rows); break;
                case SimdWidth.Bits128: Run<Simd128, Vector128<float>>(px, biasRow, py, rows); break;
                default: Run<SimdScalar, float>(px, biasRow, py, rows); break;
            }
        }
    }

    /// <summary>
    /// Columns <see cref="PanelColumns"/>(first, end) of y [1, n] = x [1, k] · Wᵀ (no bias), on the calling thread: one
    /// thread's share of a one-row product that a team job divides itself. The same values as <see cref="Multiply"/>'s.
    /// </summary>
    /// <exception cref="ArgumentException">A length does not match, the panels are not a range of them, or y overlaps x.</exception>
    public void MultiplyPanels(ReadOnlySpan<float> x, Span<float> y, int firstPanel, int endPanel)
    {
        const string op = "PackedMatrix.MultiplyPanels";
        Check.Length(op, "x", x.Length, K);
        Check.Length(op, "y", y.Length, N);
        if (firstPanel < 0 || endPanel < firstPanel || endPanel > PanelCount)
            throw new ArgumentException($"{op}: panels [{firstPanel}, {endPanel}) are not a range of the {PanelCount} panels.");
        Check.Disjoint(op, "x", x, "y", y);
        using var _ = OperationProfile.Enabled
            ? OperationProfile.Measure($"packed product 1×{N}×{K}", 2.0 * N * K, sizeof(float) * ((double)N * K + N + K))
            : default;
        fixed (float* px = x) fixed (float* py = y)
            switch (width)
            {
                case SimdWidth.Bits512: Panels<Simd512, Vector512<float>>(px, null, py, null, 1, firstPanel, endPanel); break;
                case SimdWidth.Bits256: Panels<Simd256, Vector256<float>>(px, null, py, null, 1, firstPanel, endPanel); break;
                case SimdWidth.Bits128: Panels<Simd128, Vector128<float>>(px, null, py, null, 1, firstPanel, endPanel); break;
                default: Panels<SimdScalar, float>(px, null, py, null, 1, firstPanel, endPanel); break;
            }
    }

    static int Lanes(SimdWidth width) => width switch
    {
        SimdWidth.Bits512 => Vector512<float>.Count,
        SimdWidth.Bits256 => Vector256<float>.Count,
        SimdWidth.Bits128 => Vector128<float>.Count,
        _ => 1,
    };

    [ThreadStatic] static AlignedBuffer? packedRowsCache;

    void Run<TOps, TV>(float* x, float* bias, float* y, int rows) where TOps : struct, ISimd<TV> where TV : struct
    {
        float* packedRows = null;
        if (rows > 1)
        {
            // Several rows: pack x into the 8-row micro-panels of the GEMM register tile.
            packedRows = (packedRowsCache ??= new AlignedBuffer()).Get((long)RoundUp(rows, GemmMicroKernel.Rows) * K);
            Gemm.PackA(new Gemm.Job(x, null, null, null, rows, N, K, false, false, false), packedRows, 0, rows, 0, K);
        }
        if ((long)rows * N * K < (rows == 1 ? serialOneRow : SerialMultiplies) || Parallelism.Threads == 1) Panels<TOps, TV>(x, bias, y, packedRows, rows, 0, PanelCount);
        else VectorJob.OnTeam<PanelsJob, TOps, TV>(PanelCount, new PanelsJob(this, x, bias, y, packedRows, rows));
    }

    /// <summary>Panels [start, end) of one product, a share of the team's.</summary>
    readonly struct PanelsJob(PackedMatrix matrix, float* x, float* bias, float* y, float* packedRows, int rows) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct =>
            matrix.Panels<TOps, TV>(x, bias, y, packedRows, rows, start, end);
    }

    /// <summary>Panels [q0, q1) of y: the one-row kernel, or the GEMM register tile over x packed into <paramref name="packedRows"/>.</summary>
    void Panels<TOps, TV>(float* x, float* bias, float* y, float* packedRows, int rows, int q0, int q1) where TOps : struct, ISimd<TV> where TV : struct
    {
        if (packedRows == null)
        {
            RowTimesPanels<TOps, TV>(x, bias, y, q0, q1);
            return;
        }
        var job = new Gemm.Job(null, null, y, bias, rows, N, K, false, true, false);
        Gemm.ComputeBlock<TOps, TV>(job, packedRows, panels, 0, rows, 0, N, 0, K, q0, q1, columnsPerPanel);
    }

    /// <summary>
    /// One row: y[q·nr ..] = x · panel q (+ bias) for panels [q0, q1), four panels (eight accumulators)
    /// at a time so that four streams of loads are in flight, then two, then one, each stream prefetched ahead (a thread's
    /// share of a small product, 6 panels of out_proj, is otherwise left with two lone panels that ran a fifth slower).
    /// Every column is one accumulator summed in the order p = 0..k-1 whichever way it is taken. The bias is added in a
    /// second pass: with no branches between the loop and the stores, the sums stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RowTimesPanels<TOps, TV>(float* x, float* bias, float* y, int q0, int q1) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, nr = 2 * w, k = K;
        long stride = (long)k * nr;
        float* edge = stackalloc float[2 * w];
        int q = q0;
        for (; q + 4 <= q1 && (q + 4) * nr <= N; q += 4)
        {
            float* b = panels + q * stride;
            TV s00 = TOps.Zero, s01 = TOps.Zero, s10 = TOps.Zero, s11 = TOps.Zero;
            TV s20 = TOps.Zero, s21 = TOps.Zero, s30 = TOps.Zero, s31 = TOps.Zero;
            for (int p = 0; p < k; p++, b += nr)
            {
                if (Sse.IsSupported)
                {
                    // The four streams are too many for the hardware prefetcher to run ahead of on its own.
                    Sse.Prefetch0(b + Prefetch); Sse.Prefetch0(b + Prefetch + w);
                    Sse.Prefetch0(b + stride + Prefetch); Sse.Prefetch0(b + stride + Prefetch + w);
                    Sse.Prefetch0(b + 2 * stride + Prefetch); Sse.Prefetch0(b + 2 * stride + Prefetch + w);
                    Sse.Prefetch0(b + 3 * stride + Prefetch); Sse.Prefetch0(b + 3 * stride + Prefetch + w);
                }
                TV v = TOps.Broadcast(x[p]);
                s00 = TOps.Fma(v, TOps.Load(b), s00);
                s01 = TOps.Fma(v, TOps.Load(b + w), s01);
                s10 = TOps.Fma(v, TOps.Load(b + stride), s10);
                s11 = TOps.Fma(v, TOps.Load(b + stride + w), s11);
                s20 = TOps.Fma(v, TOps.Load(b + 2 * stride), s20);
                s21 = TOps.Fma(v, TOps.Load(b + 2 * stride + w), s21);
                s30 = TOps.Fma(v, TOps.Load(b + 3 * stride), s30);
                s31 = TOps.Fma(v, TOps.Load(b + 3 * stride + w), s31);
            }
            float* target = y + q * nr;
            TOps.Store(target, s00); TOps.Store(target + w, s01);
            TOps.Store(target + nr, s10); TOps.Store(target + nr + w, s11);
            TOps.Store(target + 2 * nr, s20); TOps.Store(target + 2 * nr + w, s21);
            TOps.Store(target + 3 * nr, s30); TOps.Store(target + 3 * nr + w, s31);
        }
        for (; q + 2 <= q1 && (q + 2) * nr <= N; q += 2)
        {
            float* b = panels + q * stride;
            TV s00 = TOps.Zero, s01 = TOps.Zero, s10 = TOps.Zero, s11 = TOps.Zero;
            for (int p = 0; p < k; p++, b += nr)
            {
                if (Sse.IsSupported)
                {
                    Sse.Prefetch0(b + Prefetch); Sse.Prefetch0(b + Prefetch + w);
                    Sse.Prefetch0(b + stride + Prefetch); Sse.Prefetch0(b + stride + Prefetch + w);
                }
                TV v = TOps.Broadcast(x[p]);
                s00 = TOps.Fma(v, TOps.Load(b), s00);
                s01 = TOps.Fma(v, TOps.Load(b + w), s01);
                s10 = TOps.Fma(v, TOps.Load(b + stride), s10);
                s11 = TOps.Fma(v, TOps.Load(b + stride + w), s11);
            }
            float* target = y + q * nr;
            TOps.Store(target, s00); TOps.Store(target + w, s01);
            TOps.Store(target + nr, s10); TOps.Store(target + nr + w, s11);
        }
        for (; q < q1; q++)
        {
            float* b = panels + q * stride;
            TV s0 = TOps.Zero, s1 = TOps.Zero;
            for (int p = 0; p < k; p++, b += nr)
            {
                if (Sse.IsSupported) { Sse.Prefetch0(b + Prefetch); Sse.Prefetch0(b + Prefetch + w); }
                TV v = TOps.Broadcast(x[p]);
                s0 = TOps.Fma(v, TOps.Load(b), s0);
                s1 = TOps.Fma(v, TOps.Load(b + w), s1);
            }
            int j = q * nr, count = Math.Min(nr, N - j);
            bool full = count == nr;
            TOps.Store(full ? y + j : edge, s0);
            TOps.Store(full ? y + j + w : edge + w, s1);
            for (int c = full ? count : 0; c < count; c++) y[j + c] = edge[c];
        }
        if (bias == null) return;
        int j0 = q0 * nr, j1 = Math.Min(q1 * nr, N);
        VectorOps.AddTo<TOps, TV>(y + j0, bias + j0, j1 - j0);
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
