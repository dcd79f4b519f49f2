using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MinRnn.Kernels;

/// <summary>
/// Single-precision matrix product C = op(A) · op(B) (or C += ...), row-major, any shape.
/// Blocked in the GotoBLAS / BLIS manner: B is packed into panels of 2 vectors' width and up to KC
/// rows, A into 8-row micro-panels of an MC x KC block that stays in L2, and an 8 x 2W
/// register tile (<see cref="GemmMicroKernel"/>) does the arithmetic. Threads split the C tiles with
/// a fixed partition and every element is summed in the same order, so results do not depend on the
/// thread count. Products of a few rows by a transposed B go to <see cref="GemmSmallRows"/>, and weights
/// packed once for many such products (generation) are a <see cref="PackedMatrix"/>.
/// <see cref="GemmReference"/> is the plain oracle.
/// </summary>
internal static unsafe class Gemm
{
    const int KC = 768;   // most depth per packed block; K is split evenly into blocks of at most this
    const int MC = 128;   // rows of A packed at once (an MC x KC block stays in L2)
    const int NC = 1536;  // columns of B packed at once (at most 4.5 MB, in L3)
    const long SerialFlops = 1L << 18; // smaller products are not worth waking the team
    // Stored rows ahead that packing asks for where it reads a piece of every stored row: a transposed A (mc of M floats a
    // row) and a row-major B (a thread's panels of N columns), rows far apart, a pattern the hardware prefetchers follow
    // too late (a weight gradient's dy and x, read from memory).
    const int PackAhead = 8;

    /// <summary>
    /// C[m, n] = op(A) · op(B) (+ bias on every row when <paramref name="bias"/> [n] is given), or
    /// C += op(A) · op(B) when <paramref name="accumulate"/> is set.
    /// op(A) is m x k: A is stored [m, k], or [k, m] when <paramref name="transposeA"/>;
    /// op(B) is k x n: B is stored [k, n], or [n, k] when <paramref name="transposeB"/>.
    /// With <paramref name="rowSumsOfA"/> [m] (transposeA only), also rowSumsOfA[i] += Σ_p op(A)[i, p], added
    /// p = 0..k-1 as the packing reads A: a linear layer's bias gradient (Σ over rows of dy) taken from the weight
    /// gradient's product dW = dyᵀ · x without another pass over dy, and the same sums as <see cref="ColumnSums"/> gives.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not
    /// match its shape, C overlaps A or B, a bias is given with accumulate, or row sums without transposeA.</exception>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false, ReadOnlySpan<float> bias = default,
        Span<float> rowSumsOfA = default)
    {
        Validate(a.Length, b.Length, c.Length, m, n, k, transposeA, transposeB);
        ValidateBias(bias.Length, n, accumulate);
        if (!rowSumsOfA.IsEmpty && (!transposeA || rowSumsOfA.Length != m))
            throw new ArgumentException($"Gemm: row sums of A need transposeA and m = {m} elements, got {rowSumsOfA.Length}{(transposeA ? "" : " without transposeA")}.");
        using var _ = OperationProfile.Enabled
            ? OperationProfile.Measure($"GEMM {m}×{n}×{k}{(transposeA ? " Aᵀ" : "")}{(transposeB ? " Bᵀ" : "")}", 2.0 * m * n * k)
            : default;
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c) fixed (float* pbias = bias) fixed (float* psums = rowSumsOfA)
        {
            float* biasRow = bias.IsEmpty ? null : pbias;
            if (Overlaps(pc, c.Length, pa, a.Length) || Overlaps(pc, c.Length, pb, b.Length))
                throw new ArgumentException($"Gemm: C [{m}, {n}] overlaps an input; the product needs a separate output buffer.");
            if (psums != null && (Overlaps(psums, m, pa, a.Length) || Overlaps(psums, m, pc, c.Length)))
                throw new ArgumentException("Gemm: the row sums of A overlap A or C.");
            if (GemmSmallRows.Applies(m, transposeA, transposeB))
            {
                switch (Simd.Width)
                {
                    case SimdWidth.Bits512: GemmSmallRows.Run<Simd512, System.Runtime.Intrinsics.Vector512<float>>(pa, pb, pc, biasRow, m, n, k, accumulate); break;
                    case SimdWidth.Bits256: GemmSmallRows.Run<Simd256, System.Runtime.Intrinsics.Vector256<float>>(pa, pb, pc, biasRow, m, n, k, accumulate); break;
                    case SimdWidth.Bits128: GemmSmallRows.Run<Simd128, System.Runtime.Intrinsics.Vector128<float>>(pa, pb, pc, biasRow, m, n, k, accumulate); break;
                    default: GemmSmallRows.Run<SimdScalar, float>(pa, pb, pc, biasRow, m, n, k, accumulate); break;
                }
                return;
            }
            var job = new Job(pa, pb, pc, biasRow, m, n, k, transposeA, transposeB, accumulate, rowSumsOfA.IsEmpty ? null : psums);
            switch (Simd.Width)
            {
                case SimdWidth.Bits512: Run<Simd512, System.Runtime.Intrinsics.Vector512<float>>(job); break;
                case SimdWidth.Bits256: Run<Simd256, System.Runtime.Intrinsics.Vector256<float>>(job); break;
                case SimdWidth.Bits128: Run<Simd128, System.Runtime.Intrinsics.Vector128<float>>(job); break;
                default: Run<SimdScalar, float>(job); break;
            }
        }
    }

    internal static void Validate(int aLength, int bLength, int cLength, int m, int n, int k, bool transposeA, bool transposeB)
    {
        string shapes = $"op(A) [{m}, {k}]{(transposeA ? " (stored transposed)" : "")}, op(B) [{k}, {n}]{(transposeB ? " (stored transposed)" : "")}, C [{m}, {n}]";
        if (m <= 0 || n <= 0 || k <= 0)
            throw new ArgumentException($"Gemm: every dimension must be positive, got {shapes}.");
        if (aLength != (long)m * k || bLength != (long)k * n || cLength != (long)m * n)
            throw new ArgumentException($"Gemm: buffer lengths A={aLength}, B={bLength}, C={cLength} do not match {shapes}.");
    }

    internal static void ValidateBias(int biasLength, int n, bool accumulate)
    {
        if (biasLength == 0) return;
        if (accumulate) throw new ArgumentException("Gemm: a bias initialises C, so it cannot be combined with accumulate.");
        if (biasLength != n) throw new ArgumentException($"Gemm: bias has {biasLength} elements, expected n = {n}.");
    }

    static bool Overlaps(float* x, int xLength, float* y, int yLength) => x < y + yLength && y < x + xLength;

    internal readonly struct Job(float* a, float* b, float* c, float* bias, int m, int n, int k, bool transposeA, bool transposeB, bool accumulate,
        float* rowSumsOfA = null)
    {
        public readonly float* A = a, B = b, C = c, Bias = bias, RowSumsOfA = rowSumsOfA;
        public readonly int M = m, N = n, K = k;
        public readonly bool TransposeA = transposeA, TransposeB = transposeB, Accumulate = accumulate;
    }

    [ThreadStatic] static AlignedBuffer? packedBCache;
    [ThreadStatic] static AlignedBuffer? packedACache;

    static void Run<TOps, TV>(Job job) where TOps : struct, ISimd<TV> where TV : struct
    {
        int nr = GemmMicroKernel.Columns<TOps, TV>();
        int ncMax = Math.Min(NC, RoundUp(job.N, nr));
        int kcBlock = (job.K + KC - 1) / ((job.K + KC - 1) / KC); // split K evenly into blocks of at most KC
        kcBlock = RoundUp(kcBlock, 8);
        float* packedB = (packedBCache ??= new AlignedBuffer()).Get((long)kcBlock * ncMax);
        int mBlocks = (job.M + MC - 1) / MC;
        bool parallel = (long)job.M * job.N * job.K >= SerialFlops && Parallelism.Threads > 1;

        Action<WorkerContext> body = ctx =>
        {
            float* packedA = (packedACache ??= new AlignedBuffer()).Get((long)MC * kcBlock);
            for (int jc = 0; jc < job.N; jc += NC)
            {
                int nc = Math.Min(NC, job.N - jc);
                int panels = (nc + nr - 1) / nr;
                // With few row blocks, also split the panels so that every thread has work, and into as many
                // groups as make the items divide evenly between the threads (9 row blocks on 2 threads: 18 items).
                int groups = Math.Clamp((2 * ctx.Count + mBlocks - 1) / mBlocks, 1, panels);
                while (groups < panels && mBlocks * groups % ctx.Count != 0) groups++;
                for (int pc = 0; pc < job.K; pc += kcBlock)
                {
                    int kc = Math.Min(kcBlock, job.K - pc);
                    var (p0, p1) = ctx.Range(panels);
                    PackB(job, packedB, pc, kc, jc, nc, p0, p1, nr);
                    ctx.Sync();

                    var (i0, i1) = ctx.Range(mBlocks * groups);
                    int packedBlock = -1;
                    for (int item = i0; item < i1; item++)
                    {
                        int block = item / groups, group = item % groups;
                        int ic = block * MC, mc = Math.Min(MC, job.M - ic);
                        // A block is packed by each thread with items of it; the one with its first item also sums it.
                        if (block != packedBlock) { PackA(job, packedA, ic, mc, pc, kc, sumRows: group == 0); packedBlock = block; }
                        int g0 = panels * group / groups, g1 = panels * (group + 1) / groups;
                        ComputeBlock<TOps, TV>(job, packedA, packedB, ic, mc, jc, nc, pc, kc, g0, g1, nr);
                    }
                    ctx.Sync();
                }
            }
        };
        if (parallel) Parallelism.Run(body);
        else body(new WorkerContext(0, 1, null));
    }

    /// <summary>Multiplies the packed A block (rows ic..ic+mc) by packed B panels g0..g1 into C.</summary>
    internal static void ComputeBlock<TOps, TV>(Job job, float* packedA, float* packedB, int ic, int mc, int jc, int nc,
        int pc, int kc, int g0, int g1, int nr) where TOps : struct, ISimd<TV> where TV : struct
    {
        const int mr = GemmMicroKernel.Rows;
        bool overwrite = pc == 0 && !job.Accumulate;
        float* edge = stackalloc float[mr * 2 * 16];
        for (int p = g0; p < g1; p++)
        {
            int j = jc + p * nr, cols = Math.Min(nr, nc - p * nr);
            float* bPanel = packedB + (long)p * kc * nr;
            for (int r = 0; r < mc; r += mr)
            {
                int rows = Math.Min(mr, mc - r);
                float* aPanel = packedA + (long)r * kc;
                float* c = job.C + (long)(ic + r) * job.N + j;
                // The first K block starts from the bias row (or zero), later ones from C.
                float* init = overwrite ? (job.Bias == null ? null : job.Bias + j) : c;
                if (rows == mr && cols == nr)
                {
                    GemmMicroKernel.Run<TOps, TV>(kc, aPanel, bPanel, c, job.N, init, overwrite ? 0 : job.N);
                    continue;
                }
                // Edge tile: compute the full tile into scratch, then merge the valid part.
                GemmMicroKernel.Run<TOps, TV>(kc, aPanel, bPanel, edge, nr, null, 0);
                for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++)
                    c[(long)y * job.N + x] = (init == null ? 0f : init[(overwrite ? 0 : (long)y * job.N) + x]) + edge[y * nr + x];
            }
        }
    }

    /// <summary>
    /// Packs panels [p0, p1) of the block: panel q holds packed[q][p][j] = op(B)[pc + p, jc + q·nr + j]
    /// for p &lt; kc, j &lt; nr, with columns past the block's edge set to 0.
    /// </summary>
    internal static void PackB(Job job, float* packed, int pc, int kc, int jc, int nc, int p0, int p1, int nr)
    {
        for (int q = p0; q < p1; q++)
        {
            float* panel = packed + (long)q * kc * nr;
            int j0 = jc + q * nr, cols = Math.Min(nr, nc - q * nr);
            if (cols < nr) new Span<float>(panel, kc * nr).Clear();
            if (!job.TransposeB) continue;
            int j8 = cols & ~7, p8 = kc & ~7;
            for (int j = 0; j < j8; j += 8)
            {
                float* src = job.B + (long)(j0 + j) * job.K + pc;
                for (int p = 0; p < p8; p += 8) Transpose8x8.Run(src + p, job.K, panel + p * nr + j, nr);
            }
            for (int j = 0; j < cols; j++)
            {
                float* src = job.B + (long)(j0 + j) * job.K + pc;
                for (int p = j < j8 ? p8 : 0; p < kc; p++) panel[p * nr + j] = src[p];
            }
        }
        if (job.TransposeB) return;
        // B is row-major: read each row once, left to right, and deal it out to the panels.
        int pieceLength = Math.Min(p1 * nr, nc) - p0 * nr; // the floats of a row that panels [p0, p1) hold
        for (int p = 0; p < kc; p++)
        {
            float* src = job.B + (long)(pc + p) * job.N + jc;
            if (p + PackAhead < kc) PrefetchPiece(src + (long)PackAhead * job.N + p0 * nr, pieceLength);
            int full = nr % 8 == 0 ? Math.Min(p1, nc / nr) : p0; // panels without an edge, copied 8 floats at a time
            for (int q = p0; q < full; q++)
            {
                float* from = src + q * nr, to = packed + (long)q * kc * nr + p * nr;
                for (int x = 0; x < nr; x += 8) Vector256.Store(Vector256.Load(from + x), to + x);
            }
            for (int q = Math.Max(p0, full); q < p1; q++)
                Copy(src + q * nr, packed + (long)q * kc * nr + p * nr, Math.Min(nr, nc - q * nr));
        }
    }

    /// <summary>
    /// packed[r / 8][p][r % 8] = op(A)[ic + r, pc + p]; rows past <paramref name="mc"/> in the last micro-panel are 0.
    /// With <paramref name="sumRows"/> and the job's row sums, also adds op(A)[ic + r, pc + p] to them, p in order.
    /// </summary>
    internal static void PackA(Job job, float* packed, int ic, int mc, int pc, int kc, bool sumRows = false)
    {
        const int mr = GemmMicroKernel.Rows;
        for (int r0 = 0; r0 < mc; r0 += mr)
        {
            float* panel = packed + (long)r0 * kc;
            int rows = Math.Min(mr, mc - r0);
            if (rows < mr) new Span<float>(panel, kc * mr).Clear();
            if (!job.TransposeA)
            {
                float* src = job.A + (long)(ic + r0) * job.K + pc;
                int p8 = rows == mr ? kc & ~7 : 0;
                for (int p = 0; p < p8; p += 8) Transpose8x8.Run(src + p, job.K, panel + p * mr, mr);
                for (int y = 0; y < rows; y++)
                for (int p = p8; p < kc; p++) panel[p * mr + y] = src[(long)y * job.K + p];
            }
        }
        if (!job.TransposeA) return;
        // A is stored [k, m]: read each stored row once, left to right, and deal it out to the micro-panels.
        float* sums = sumRows && job.RowSumsOfA != null ? job.RowSumsOfA + ic : null;
        for (int p = 0; p < kc; p++)
        {
            float* src = job.A + (long)(pc + p) * job.M + ic, dst = packed + p * mr;
            if (p + PackAhead < kc) PrefetchPiece(src + (long)PackAhead * job.M, mc);
            int r0 = 0;
            for (; r0 + mr <= mc; r0 += mr)
            {
                var row = Vector256.Load(src + r0);
                Vector256.Store(row, dst + (long)r0 * kc);
                if (sums != null) Vector256.Store(Vector256.Load(sums + r0) + row, sums + r0);
            }
            if (r0 < mc)
            {
                Copy(src + r0, dst + (long)r0 * kc, mc - r0);
                if (sums != null) for (int r = r0; r < mc; r++) sums[r] += src[r];
            }
        }
    }

    /// <summary>Asks for the cache lines of <paramref name="count"/> floats from <paramref name="piece"/> into L1 (a row <see cref="PackAhead"/> ahead).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchPiece(float* piece, int count)
    {
        if (!Sse.IsSupported) return;
        for (int x = 0; x < count; x += 16) Sse.Prefetch0(piece + x);
    }

    /// <summary>dst[0..count] = src[0..count], eight floats at a time.</summary>
    static void Copy(float* src, float* dst, int count)
    {
        int x = 0;
        for (; x + 8 <= count; x += 8) Vector256.Store(Vector256.Load(src + x), dst + x);
        for (; x < count; x++) dst[x] = src[x];
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
