using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Fused causal self-attention, nanoGPT's CausalSelfAttention between c_attn and c_proj, in the
/// flash-attention manner: the T x T score matrix is never stored. qkv is [batch, time, 3·dim] with
/// q, k, v in columns [0, dim), [dim, 2·dim), [2·dim, 3·dim), and head h using columns
/// h·hs .. (h+1)·hs - 1 of each (hs = dim / heads); y is [batch, time, dim] with head h in the same
/// columns. For query i and keys j &lt;= i: S_ij = q_i·k_j / sqrt(hs), P = softmax_j(S),
/// P'_ij = P_ij M_ij / (1 - p) with attention dropout p (training only), y_i = Σ_j P'_ij v_j.
/// <para>The dropout mask is <see cref="Dropout.Keeps"/> of element <see cref="MaskIndex"/>, i.e.
/// Dropout's own scheme over nanoGPT's att tensor [batch, heads, time, time]: a pure function of
/// (seed, b, h, i, j), drawn again by the backward instead of being stored.</para>
/// <para>Forward keeps an online softmax per query (running max m and sum l, the accumulator rescaled
/// by exp(m_old - m_new) at each key block) and saves L_i = m_i + log l_i [batch, heads, time].
/// Backward recomputes P_ij = exp(S_ij - L_i) tile by tile and applies
/// D_i = dy_i·y_i, dP_ij = (dy_i·v_j) M_ij / (1 - p), dS_ij = P_ij (dP_ij - D_i),
/// dq_i = Σ_j dS_ij k_j / sqrt(hs), dk_j = Σ_i dS_ij q_i / sqrt(hs), dv_j = Σ_i P'_ij dy_i.</para>
/// <para>Every product runs through one register tile, 8 rows x 2 vectors of fused multiply-adds
/// (<see cref="Tile{TOps, TV}"/>, GEMM's shape), on operands packed per head (or read in place). The
/// forward's scores put queries in the vector lanes, so the softmax statistics are lane-wise and need
/// no horizontal reductions; the backward's put keys in the lanes, so that P' and dS, read across
/// their lanes, feed dk and dv directly. Only the backward's dq needs a block transposed (dS).
/// One (batch, head) pair is one work item, computed wholly by one thread in a fixed order: results
/// do not depend on the thread count, and the forward's not on the vector width either, since every
/// score, sum and output value is the same chain of operations at every width; <see cref="Decode"/>
/// repeats those chains for one query and gives Forward's last row bit for bit.</para>
/// <see cref="CausalAttentionReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class CausalAttention
{
    /// <summary>
    /// Keys per forward block: the online softmax rescales the output once per block. At 64 keys that
    /// rescale (32 queries x hs multiplies at AVX-512) is under 1% of the block's products and the
    /// per-block bookkeeping is amortised, while the block's scores (64 keys x 32 queries, 8 KB), the
    /// output block (32 x hs, 8 KB at hs 64) and the 32 transposed queries (8 KB) stay in L1 next to
    /// the streamed key and value rows.
    /// </summary>
    const int KeyBlock = 64;

    /// <summary>
    /// Queries per backward block, for a key block of 2 vectors (32 keys at AVX-512): the block's P',
    /// dS and transposed dS (64 x 32 floats each, 24 KB in all) stay in L1 while the tiles for dk, dv
    /// (accumulators 32 x hs) and dq run over them; a larger block would spill them from L1, a smaller
    /// one would load and store the dk and dv accumulators more often.
    /// </summary>
    const int QueryBlock = 64;

    /// <summary>Rows of the register tile (<see cref="Tile{TOps, TV}"/>).</summary>
    const int Rows = 8;

    /// <summary>0, 1, 2, ...: lane numbers of a vector of the widest width, for the causal and padding masks.</summary>
    static readonly float[] LaneIndex = [.. Enumerable.Range(0, 16).Select(i => (float)i)];

    [ThreadStatic] static AlignedBuffer? headScratch;

    /// <summary>
    /// y and logSumExp [batch, heads, time] (L_i = max_j S_ij + log Σ_j exp(S_ij - max), kept for
    /// <see cref="Backward"/>) from qkv. Dropout p &gt; 0 drops attention weights with the mask of
    /// <paramref name="seed"/>; give every layer and step its own seed. Sequence b draws the mask of sequence
    /// <paramref name="firstSequence"/> + b, so that ranks holding parts of a batch draw one process's masks.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, heads does not divide dim, a
    /// buffer's length does not match its shape, an output overlaps qkv, or dropout is not in [0, 1).</exception>
    public static void Forward(ReadOnlySpan<float> qkv, Span<float> y, Span<float> logSumExp, int batch, int time, int heads, int dim,
        float dropout = 0, ulong seed = 0, int firstSequence = 0)
    {
        const string op = "CausalAttention.Forward";
        Validate(op, qkv.Length, batch, time, heads, dim, dropout);
        Check.Length(op, "y", y.Length, batch, time, dim);
        Check.Length(op, "logSumExp", logSumExp.Length, batch, heads, time);
        Check.Disjoint(op, "qkv", qkv, "y", y);
        Check.Disjoint(op, "qkv", qkv, "logSumExp", logSumExp);
        Check.Disjoint<float>(op, "y", y, "logSumExp", logSumExp);
        fixed (float* pqkv = qkv) fixed (float* py = y) fixed (float* lse = logSumExp)
        {
            var job = new Job(pqkv, py, lse, null, null, time, heads, dim, dropout, seed, firstSequence);
            VectorJob.For(batch * heads, 2L * time * time * (dim / heads), job);
        }
    }

    /// <summary>
    /// dQkv [batch, time, 3·dim] (overwritten) from dy, given the forward's qkv, y and logSumExp and
    /// the same dropout, seed and first sequence.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, heads does not divide dim, a
    /// buffer's length does not match its shape, dQkv overlaps an input, or dropout is not in [0, 1).</exception>
    public static void Backward(ReadOnlySpan<float> qkv, ReadOnlySpan<float> y, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> dy,
        Span<float> dQkv, int batch, int time, int heads, int dim, float dropout = 0, ulong seed = 0, int firstSequence = 0)
    {
        const string op = "CausalAttention.Backward";
        Validate(op, qkv.Length, batch, time, heads, dim, dropout);
        Check.Length(op, "y", y.Length, batch, time, dim);
        Check.Length(op, "logSumExp", logSumExp.Length, batch, heads, time);
        Check.Length(op, "dy", dy.Length, batch, time, dim);
        Check.Length(op, "dQkv", dQkv.Length, batch, time, 3 * dim);
        Check.Disjoint(op, "qkv", qkv, "dQkv", dQkv);
        Check.Disjoint(op, "y", y, "dQkv", dQkv);
        Check.Disjoint(op, "logSumExp", logSumExp, "dQkv", dQkv);
        Check.Disjoint(op, "dy", dy, "dQkv", dQkv);
        fixed (float* pqkv = qkv) fixed (float* py = y) fixed (float* lse = logSumExp) fixed (float* g = dy) fixed (float* d = dQkv)
        {
            var job = new Job(pqkv, py, lse, g, d, time, heads, dim, dropout, seed, firstSequence);
            VectorJob.For(batch * heads, 5L * time * time * (dim / heads), job);
        }
    }

    /// <summary>
    /// One generation step with a key/value cache: y [batch, dim] for one new query per sequence,
    /// q [batch, dim], attending the first <paramref name="length"/> positions of the cache (the new token's own key and
    /// value already at position length - 1). The keys are kept transposed, keys [batch, dim, KeyCacheStride(capacity)]
    /// (column j of row c is key j's component c), so that a step reads them as the score products want them and nothing is
    /// transposed per step; values are rows [batch, capacity, dim]. No dropout. The result is bit for bit
    /// <see cref="Forward"/>'s row length - 1 on the same prefix: the same blocks of <see cref="KeyBlock"/> keys and the
    /// same chain of operations per value.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, heads does not divide dim, length
    /// exceeds capacity, a buffer's length does not match its shape, or y overlaps an input.</exception>
    public static void Decode(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, Span<float> y,
        int batch, int heads, int dim, int length, int capacity)
    {
        ValidateDecode("CausalAttention.Decode", q, keys, values, y, batch, heads, dim, length, capacity);
        // Costed at four times its 4·length·hs flops per head: one query's chains of dependent operations run at about a
        // quarter of a streaming kernel's rate, so that the heads are split between threads from 16 keys on (faster from
        // 32 keys; 4 heads of 32, 2 threads: 1.0 against 1.4 µs at 32 keys, 1.25 against 2.0 µs at 56).
        fixed (float* pq = q) fixed (float* k = keys) fixed (float* v = values) fixed (float* py = y)
            VectorJob.For(batch * heads, 16L * length * (dim / heads), new DecodeJob(pq, k, v, py, heads, dim, length, capacity));
    }

    /// <summary>
    /// <see cref="Decode"/> of one sequence (batch 1) for heads [<paramref name="firstHead"/>, <paramref name="endHead"/>)
    /// only, on the calling thread: one thread's share of a step that a team job divides itself. The same values.
    /// </summary>
    /// <exception cref="ArgumentException">As Decode's, or the heads are not a range of them.</exception>
    public static void DecodeHeads(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, Span<float> y,
        int heads, int dim, int length, int capacity, int firstHead, int endHead)
    {
        const string op = "CausalAttention.DecodeHeads";
        ValidateDecode(op, q, keys, values, y, 1, heads, dim, length, capacity);
        if (firstHead < 0 || endHead < firstHead || endHead > heads)
            throw new ArgumentException($"{op}: heads [{firstHead}, {endHead}) are not a range of the {heads} heads.");
        using var _ = OperationProfile.Enabled ? OperationProfile.Measure(OperationProfile.NameOf<DecodeJob>.Value) : default;
        fixed (float* pq = q) fixed (float* k = keys) fixed (float* v = values) fixed (float* py = y)
            VectorJob.Share(firstHead, endHead, new DecodeJob(pq, k, v, py, heads, dim, length, capacity));
    }

    static void ValidateDecode(string op, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, Span<float> y,
        int batch, int heads, int dim, int length, int capacity)
    {
        Check.Positive(op, ("batch", batch), ("heads", heads), ("dim", dim), ("length", length), ("capacity", capacity));
        CheckHeads(op, heads, dim);
        if (length > capacity) throw new ArgumentException($"{op}: length {length} exceeds the cache capacity {capacity}.");
        Check.Length(op, "q", q.Length, batch, dim);
        Check.Length(op, "keys", keys.Length, batch, dim, KeyCacheStride(capacity));
        Check.Length(op, "values", values.Length, batch, capacity, dim);
        Check.Length(op, "y", y.Length, batch, dim);
        Check.Disjoint(op, "q", q, "y", y);
        Check.Disjoint(op, "keys", keys, "y", y);
        Check.Disjoint(op, "values", values, "y", y);
    }

    /// <summary>
    /// Floats between a transposed key cache's rows for <paramref name="capacity"/> positions: room for the widest vector's
    /// padding, staggered (see <see cref="Staggered"/>) so that the rows' loads do not alias.
    /// </summary>
    public static int KeyCacheStride(int capacity) => Staggered(RoundUp(capacity, 16));

    /// <summary>
    /// The counter of attention weight (b, h, i, j) in the dropout stream: its offset in nanoGPT's att
    /// tensor [batch, heads, time, time].
    /// </summary>
    internal static long MaskIndex(int b, int h, int i, int j, int heads, int time) => (((long)b * heads + h) * time + i) * time + j;

    internal static void Validate(string op, int qkv, int batch, int time, int heads, int dim, float dropout)
    {
        Check.Positive(op, ("batch", batch), ("time", time), ("heads", heads), ("dim", dim));
        CheckHeads(op, heads, dim);
        Check.Length(op, "qkv", qkv, batch, time, 3 * dim);
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentException($"{op}: the attention dropout probability must be in [0, 1), got {dropout}.");
    }

    static void CheckHeads(string op, int heads, int dim)
    {
        if (dim % heads != 0)
            throw new ArgumentException($"{op}: heads ({heads}) must divide dim ({dim}); each head takes dim / heads columns.");
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>
    /// A row length for a transposed operand: one cache line more when the rows would be a multiple of
    /// 256 bytes apart, so that the 8 rows an 8 x 8 transpose stores to fall on different offsets
    /// within a 4 KB page. Stores a multiple of 1 KB apart alias the loads that follow them and stall
    /// them (at time 256 the transposes ran twice as slowly).
    /// </summary>
    static int Staggered(int length) => length % 64 == 0 ? length + 16 : length;

    /// <summary>Forward (dy null) or backward of one (batch, head) pair per item.</summary>
    readonly struct Job(float* qkv, float* y, float* logSumExp, float* dy, float* dQkv, int time, int heads, int dim, float dropout, ulong seed,
        int firstSequence) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            var layout = new HeadLayout(time, dim / heads, 2 * TOps.Count, Transpose8x8.Vectorised);
            float* s = (headScratch ??= new AlignedBuffer()).Get(dy == null ? layout.ForwardScratch : layout.BackwardScratch);
            var mask = new DropMask(dropout, seed);
            fixed (float* lanes = LaneIndex)
            {
                for (int item = start; item < end; item++)
                {
                    // The next item's inputs are fetched from memory while this one computes.
                    Head head = At(item, layout.Size), next = item + 1 < end ? At(item + 1, layout.Size) : default;
                    if (dy == null) ForwardHead<TOps, TV>(head, next, layout, mask, s, lanes);
                    else BackwardHead<TOps, TV>(head, next, layout, mask, s, lanes);
                }
            }
        }

        Head At(int item, int size)
        {
            int b = item / heads, h = item % heads;
            long row = (long)b * time, column = (long)h * size;
            return new Head(qkv + row * 3 * dim + column, y + row * dim + column, logSumExp + (long)item * time,
                dy == null ? null : dy + row * dim + column, dQkv == null ? null : dQkv + row * 3 * dim + column,
                dim, MaskIndex(firstSequence + b, h, 0, 0, heads, time));
        }
    }

    /// <summary>
    /// One (batch, head) pair's columns: row t of q at Q + t·QkvStride (k and v dim and 2·dim further),
    /// of y and dy at t·Dim, of dQkv at t·QkvStride; its L at Lse[t] and its first mask counter.
    /// </summary>
    readonly struct Head(float* q, float* y, float* lse, float* dy, float* dQkv, int dim, long maskBase)
    {
        public readonly float* Q = q, K = q + dim, V = q + 2 * dim, Y = y, Lse = lse, Dy = dy, DQkv = dQkv;
        public readonly long Dim = dim, QkvStride = 3L * dim, MaskBase = maskBase;
        public bool Exists => Q != null;
    }

    /// <summary>
    /// Sizes of one head's blocks and packed operands. A block of scores is <see cref="Block"/> lanes wide
    /// (queries in the forward, keys in the backward): two vectors, or 8 at the scalar width so that
    /// tiles of 8 rows fit across it. Time and the head size are padded to whole blocks, so that tiles
    /// never run past a buffer or need a tail.
    /// </summary>
    readonly struct HeadLayout(int time, int size, int lanes, bool vectorisedTranspose)
    {
        public readonly int Time = time, Size = size, Lanes = lanes, Block = Math.Max(Rows, lanes);
        /// <summary>time and the head size rounded up to whole blocks.</summary>
        public readonly int PaddedTime = RoundUp(time, Math.Max(Rows, lanes)), PaddedSize = RoundUp(size, Math.Max(Rows, lanes));
        /// <summary>Row length of the transposed operands [hs][time] (<see cref="Staggered"/>).</summary>
        public readonly int TransposedStride = Staggered(RoundUp(time, Math.Max(Rows, lanes)));
        /// <summary>8 x 8 transposes take the AVX path (<see cref="Transpose8x8.Vectorised"/>, looked up once).</summary>
        public readonly bool VectorisedTranspose = vectorisedTranspose;
        public long TimeBySize => (long)PaddedTime * Size;
        public long Transposed => (long)TransposedStride * Size;
        public long TimeByPadded => (long)PaddedTime * PaddedSize;
        /// <summary>Rows of q, k, v and dy serve as tile operands in place when the head size is a whole number of tile columns (2 vectors).</summary>
        public bool DirectRows => Size % Lanes == 0;

        /// <summary>Key panels, transposed queries, padded values, one block of scores, the output block, mask, m, l, alpha, L.</summary>
        public int ForwardScratch => checked((int)(TimeBySize + Transposed + TimeByPadded + (long)KeyBlock * Block + (long)Block * PaddedSize + 5 * Block));

        /// <summary>Query and dy panels, transposed keys and values, padded dy, q, k and dq, D and L, three query blocks, dk and dv, mask.</summary>
        public int BackwardScratch => checked((int)(2 * TimeBySize + 2 * Transposed + 4 * TimeByPadded + 2L * PaddedTime
            + 3L * QueryBlock * Block + 2L * Block * PaddedSize + Block));
    }

    /// <summary>The attention dropout: off when P is 0; otherwise keep iff hash >> 40 &gt;= ceil(p · 2^24), as <see cref="Dropout.Keeps"/>.</summary>
    readonly struct DropMask(float p, ulong seed)
    {
        public readonly bool On = p > 0f;
        public readonly float P = p, Scale = 1f / (1f - p);
        public readonly ulong Seed = seed, MixedSeed = CounterRandom.Mix(seed), Threshold = (ulong)Math.Ceiling(p * (double)(1 << 24));

        /// <summary>keep[l] = Scale if element index0 + l·stride survives, else 0, for l &lt; count.</summary>
        public void Fill<TOps, TV>(long index0, long stride, float* keep, int count) where TOps : struct, ISimd<TV> where TV : struct
        {
            int l = 0;
            if (TOps.Count == Vector512<float>.Count)
            {
                var golden = Vector512.Create(CounterRandom.Golden);
                var strides = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7) * (ulong)stride;
                var threshold = Vector512.Create(Threshold);
                var scale = Vector512.Create(Scale);
                for (; l + 16 <= count; l += 16)
                {
                    var low = Vector512.Create((ulong)(index0 + l * stride)) + strides;
                    var high = low + Vector512.Create((ulong)(8 * stride));
                    var kept = Vector512.Narrow(Keep(low, golden, threshold), Keep(high, golden, threshold)).AsSingle();
                    (scale & kept).Store(keep + l);
                }
            }
            for (; l < count; l++) keep[l] = Dropout.Keeps(Seed, index0 + l * stride, P) ? Scale : 0f;
        }

        /// <summary>All ones where element index survives: the hash of its counter (index + 1, as CounterRandom.Bits counts) reaches the threshold.</summary>
        Vector512<ulong> Keep(Vector512<ulong> index, Vector512<ulong> golden, Vector512<ulong> threshold) =>
            Vector512.GreaterThanOrEqual(CounterRandom.Mix(Vector512.Create(MixedSeed) + (index + Vector512<ulong>.One) * golden) >>> 40, threshold);
    }

    /// <summary>
    /// The register tile: C[r, 0..2W] (= | +=) Σ_{p &lt; depth} A[p, r] · B[p, 0..2W] for r &lt; 8, where
    /// A[p, r] = a[p·aStride + r] (8 contiguous rows per step) and B[p] = b + p·bStride (two vectors),
    /// row r of C at c + r·ldc. Each lane of C is one chain of fused multiply-adds over p in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile<TOps, TV>(int depth, float* a, long aStride, float* b, long bStride, float* c, long ldc, bool accumulate)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count;
        TV c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = TOps.Load(c); c01 = TOps.Load(c + w);
            c10 = TOps.Load(c + ldc); c11 = TOps.Load(c + ldc + w);
            c20 = TOps.Load(c + 2 * ldc); c21 = TOps.Load(c + 2 * ldc + w);
            c30 = TOps.Load(c + 3 * ldc); c31 = TOps.Load(c + 3 * ldc + w);
            c40 = TOps.Load(c + 4 * ldc); c41 = TOps.Load(c + 4 * ldc + w);
            c50 = TOps.Load(c + 5 * ldc); c51 = TOps.Load(c + 5 * ldc + w);
            c60 = TOps.Load(c + 6 * ldc); c61 = TOps.Load(c + 6 * ldc + w);
            c70 = TOps.Load(c + 7 * ldc); c71 = TOps.Load(c + 7 * ldc + w);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = TOps.Zero;
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = TOps.Zero;
        }
        for (int p = 0; p < depth; p++)
        {
            TV b0 = TOps.Load(b), b1 = TOps.Load(b + w), x;
            x = TOps.Broadcast(a[0]); c00 = TOps.Fma(x, b0, c00); c01 = TOps.Fma(x, b1, c01);
            x = TOps.Broadcast(a[1]); c10 = TOps.Fma(x, b0, c10); c11 = TOps.Fma(x, b1, c11);
            x = TOps.Broadcast(a[2]); c20 = TOps.Fma(x, b0, c20); c21 = TOps.Fma(x, b1, c21);
            x = TOps.Broadcast(a[3]); c30 = TOps.Fma(x, b0, c30); c31 = TOps.Fma(x, b1, c31);
            x = TOps.Broadcast(a[4]); c40 = TOps.Fma(x, b0, c40); c41 = TOps.Fma(x, b1, c41);
            x = TOps.Broadcast(a[5]); c50 = TOps.Fma(x, b0, c50); c51 = TOps.Fma(x, b1, c51);
            x = TOps.Broadcast(a[6]); c60 = TOps.Fma(x, b0, c60); c61 = TOps.Fma(x, b1, c61);
            x = TOps.Broadcast(a[7]); c70 = TOps.Fma(x, b0, c70); c71 = TOps.Fma(x, b1, c71);
            a += aStride;
            b += bStride;
        }
        TOps.Store(c, c00); TOps.Store(c + w, c01);
        TOps.Store(c + ldc, c10); TOps.Store(c + ldc + w, c11);
        TOps.Store(c + 2 * ldc, c20); TOps.Store(c + 2 * ldc + w, c21);
        TOps.Store(c + 3 * ldc, c30); TOps.Store(c + 3 * ldc + w, c31);
        TOps.Store(c + 4 * ldc, c40); TOps.Store(c + 4 * ldc + w, c41);
        TOps.Store(c + 5 * ldc, c50); TOps.Store(c + 5 * ldc + w, c51);
        TOps.Store(c + 6 * ldc, c60); TOps.Store(c + 6 * ldc + w, c61);
        TOps.Store(c + 7 * ldc, c70); TOps.Store(c + 7 * ldc + w, c71);
    }

    /// <summary>
    /// One head's forward. Packs k into panels of 8 keys [time/8][hs][8] and q·(1/sqrt hs) transposed
    /// to [hs][time] (v rows serve in place when hs is a whole number of tile columns, else are copied
    /// into padded rows). Then for each block of queries, over blocks of <see cref="KeyBlock"/> keys: the
    /// scores S^T [key][query] by the tile (A = key panel, B = transposed queries), the causal mask,
    /// the online softmax per query lane, dropout, and O [query][c] = alpha O + P'^T V by the tile
    /// (A = P' read across its query lanes, B = value rows). Meanwhile the next head's q, k and v rows
    /// are prefetched, one block of rows per query block.
    /// </summary>
    static void ForwardHead<TOps, TV>(Head head, Head next, HeadLayout layout, DropMask mask, float* scratch, float* laneIndex)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int time = layout.Time, size = layout.Size, lanes = layout.Lanes, block = layout.Block, w = TOps.Count;
        int tp = layout.PaddedTime, ts = layout.TransposedStride, sp = layout.PaddedSize;
        bool vectorised = layout.VectorisedTranspose;
        float scale = 1f / MathF.Sqrt(size);
        float* keyPanels = scratch, queriesT = keyPanels + layout.TimeBySize, packedValues = queriesT + layout.Transposed;
        float* scores = packedValues + layout.TimeByPadded, output = scores + KeyBlock * block, keep = output + (long)block * sp;
        float* max = keep + block, sum = max + block, alpha = sum + block, statistics = alpha + block;

        PackPanels(head.K, head.QkvStride, time, size, tp, keyPanels, vectorised);
        PackTransposed(head.Q, head.QkvStride, time, size, tp, queriesT, ts, vectorised);
        for (int c = 0; c < size; c++) VectorOps.Scale<TOps, TV>(queriesT + (long)c * ts, scale, time);
        float* valueRows = head.V;
        long valueStride = head.QkvStride;
        if (!layout.DirectRows)
        {
            PackRows(head.V, head.QkvStride, time, size, time, sp, packedValues);
            valueRows = packedValues;
            valueStride = sp;
        }

        TV negativeInfinity = TOps.Broadcast(float.NegativeInfinity), one = TOps.Broadcast(1f);
        for (int i0 = 0; i0 < time; i0 += block)
        {
            int i1 = Math.Min(i0 + block, time);
            if (next.Exists)
            {
                Prefetch(next.Q, next.QkvStride, i0, i1, size);
                Prefetch(next.K, next.QkvStride, i0, i1, size);
                Prefetch(next.V, next.QkvStride, i0, i1, size);
            }
            new Span<float>(max, block).Fill(float.NegativeInfinity);
            new Span<float>(sum, block).Clear();
            new Span<float>(output, block * sp).Clear();
            for (int j0 = 0; j0 < i1; j0 += KeyBlock)
            {
                int keyCount = Math.Min(j0 + KeyBlock, i1) - j0;
                for (int g = 0; g < keyCount; g += Rows)
                for (int v = 0; v < block; v += lanes)
                    Tile<TOps, TV>(size, keyPanels + (long)(j0 + g) * size, Rows, queriesT + i0 + v, ts, scores + g * block + v, block, accumulate: false);

                for (int v = 0; v < block; v += w)
                {
                    // Causal mask (key j is hidden from query lanes i0 + lane < j) and the block's maximum per query.
                    TV blockMax = negativeInfinity;
                    for (int k = 0; k < keyCount; k++)
                    {
                        float* s = scores + k * block + v;
                        TV x = TOps.Load(s);
                        int hidden = j0 + k - i0 - v; // lanes below this one cannot see key j
                        if (hidden > 0)
                        {
                            x = TOps.SelectLess(TOps.Load(laneIndex), TOps.Broadcast(hidden), negativeInfinity, x);
                            TOps.Store(s, x);
                        }
                        blockMax = TOps.Max(blockMax, x);
                    }
                    // Every lane sees key j0 <= i0 here, so the new maxima are finite; the first block's alpha is exp(-inf) = 0.
                    TV m = TOps.Load(max + v), mNew = TOps.Max(m, blockMax), a = TOps.Exp(TOps.Sub(m, mNew)), blockSum = TOps.Zero;
                    for (int k = 0; k < keyCount; k++)
                    {
                        float* s = scores + k * block + v;
                        TV p = TOps.Exp(TOps.Sub(TOps.Load(s), mNew));
                        blockSum = TOps.Add(blockSum, p);
                        if (mask.On)
                        {
                            mask.Fill<TOps, TV>(head.MaskBase + (long)(i0 + v) * time + j0 + k, time, keep, w);
                            p = TOps.Mul(p, TOps.Load(keep));
                        }
                        TOps.Store(s, p);
                    }
                    TOps.Store(sum + v, TOps.Add(TOps.Mul(TOps.Load(sum + v), a), blockSum));
                    TOps.Store(max + v, mNew);
                    TOps.Store(alpha + v, a);
                }
                for (int r = 0; r < i1 - i0; r++) VectorOps.Scale<TOps, TV>(output + r * sp, alpha[r], size);
                for (int r = 0; r < i1 - i0; r += Rows)
                for (int c = 0; c < size; c += lanes)
                    Tile<TOps, TV>(keyCount, scores + r, block, valueRows + j0 * valueStride + c, valueStride, output + r * sp + c, sp, accumulate: true);
            }
            for (int v = 0; v < block; v += w)
            {
                TV l = TOps.Load(sum + v);
                TOps.Store(alpha + v, TOps.Div(one, l));
                TOps.Store(statistics + v, TOps.Add(TOps.Load(max + v), TOps.Log(l)));
            }
            VectorOps.Copy<TOps, TV>(statistics, head.Lse + i0, i1 - i0);
            for (int r = 0; r < i1 - i0; r++) VectorOps.Scale<TOps, TV>(output + r * sp, alpha[r], head.Y + (i0 + r) * head.Dim, size);
        }
    }

    /// <summary>
    /// One head's backward, over blocks of keys [j0, j0 + block) and, inside, blocks of
    /// <see cref="QueryBlock"/> queries from j0 on: S and dP' [query][key] by the tile (A = panels of
    /// 8 scaled queries or of dy, B = transposed keys or values), then P, P', dS row by row, then
    /// dv [key][c] += P'^T dy and dk += dS^T q by the tile (A = P' or dS read across their key lanes,
    /// B = rows of dy or q), and dq [query][c] += dS K (A = dS transposed into panels of 8 queries,
    /// B = key rows) into this thread's accumulator, written out when the head is done. dS carries
    /// the 1/sqrt(hs). Rows of q, k and dy serve in place when the head size allows, else are copied
    /// into padded rows. Meanwhile the next head's inputs are prefetched, one block of rows per key block.
    /// </summary>
    static void BackwardHead<TOps, TV>(Head head, Head next, HeadLayout layout, DropMask mask, float* scratch, float* laneIndex)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int time = layout.Time, size = layout.Size, lanes = layout.Lanes, block = layout.Block, w = TOps.Count;
        int tp = layout.PaddedTime, ts = layout.TransposedStride, sp = layout.PaddedSize;
        bool vectorised = layout.VectorisedTranspose;
        long dim = head.Dim, qkvStride = head.QkvStride;
        float scale = 1f / MathF.Sqrt(size);
        float* queryPanels = scratch, gradientPanels = queryPanels + layout.TimeBySize;
        float* keysT = gradientPanels + layout.TimeBySize, valuesT = keysT + layout.Transposed;
        float* packedGradients = valuesT + layout.Transposed, packedQueries = packedGradients + layout.TimeByPadded;
        float* packedKeys = packedQueries + layout.TimeByPadded, dq = packedKeys + layout.TimeByPadded;
        float* delta = dq + layout.TimeByPadded, lse = delta + tp;
        float* probabilities = lse + tp, dScores = probabilities + QueryBlock * block, dScoresT = dScores + QueryBlock * block;
        float* dk = dScoresT + QueryBlock * block, dv = dk + (long)block * sp, keep = dv + (long)block * sp;

        PackPanels(head.Q, qkvStride, time, size, tp, queryPanels, vectorised);
        VectorOps.Scale<TOps, TV>(queryPanels, scale, (int)layout.TimeBySize);
        PackPanels(head.Dy, dim, time, size, tp, gradientPanels, vectorised);
        PackTransposed(head.K, qkvStride, time, size, tp, keysT, ts, vectorised);
        PackTransposed(head.V, qkvStride, time, size, tp, valuesT, ts, vectorised);
        float* gradientRows = head.Dy, queryRows = head.Q, keyRows = head.K;
        long gradientStride = dim, queryStride = qkvStride, keyStride = qkvStride;
        if (!layout.DirectRows)
        {
            PackRows(head.Dy, dim, time, size, time, sp, packedGradients);
            PackRows(head.Q, qkvStride, time, size, time, sp, packedQueries);
            PackRows(head.K, qkvStride, time, size, time, sp, packedKeys);
            gradientRows = packedGradients; queryRows = packedQueries; keyRows = packedKeys;
            gradientStride = queryStride = keyStride = sp;
        }
        new Span<float>(dq, (int)layout.TimeByPadded).Clear();
        for (int i = 0; i < tp; i++)
        {
            delta[i] = i < time ? Dot<TOps, TV>(head.Dy + i * dim, head.Y + i * dim, size) : 0f;
            lse[i] = i < time ? head.Lse[i] : 0f;
        }

        TV scaleVector = TOps.Broadcast(scale);
        int timeRows = RoundUp(time, Rows);
        for (int j0 = 0; j0 < time; j0 += block)
        {
            int keyCount = Math.Min(block, time - j0);
            if (next.Exists)
            {
                Prefetch(next.Q, qkvStride, j0, j0 + keyCount, size);
                Prefetch(next.K, qkvStride, j0, j0 + keyCount, size);
                Prefetch(next.V, qkvStride, j0, j0 + keyCount, size);
                Prefetch(next.Dy, dim, j0, j0 + keyCount, size);
                Prefetch(next.Y, dim, j0, j0 + keyCount, size);
            }
            new Span<float>(dk, block * sp).Clear();
            new Span<float>(dv, block * sp).Clear();
            for (int i0 = j0 / Rows * Rows; i0 < timeRows; i0 += QueryBlock)
            {
                int rows = Math.Min(QueryBlock, timeRows - i0), validRows = Math.Min(rows, time - i0);
                for (int g = 0; g < rows; g += Rows)
                for (int v = 0; v < block; v += lanes)
                {
                    long panel = (long)(i0 + g) * size;
                    Tile<TOps, TV>(size, queryPanels + panel, Rows, keysT + j0 + v, ts, probabilities + g * block + v, block, accumulate: false);
                    Tile<TOps, TV>(size, gradientPanels + panel, Rows, valuesT + j0 + v, ts, dScores + g * block + v, block, accumulate: false);
                }
                for (int r = 0; r < rows; r++)
                {
                    int i = i0 + r;
                    float* pRow = probabilities + r * block, dRow = dScores + r * block;
                    int visible = i < time ? i - j0 + 1 : 0; // keys j0 .. i
                    if (visible <= 0)
                    {
                        new Span<float>(pRow, block).Clear();
                        new Span<float>(dRow, block).Clear();
                        continue;
                    }
                    TV l = TOps.Broadcast(lse[i]), d = TOps.Broadcast(delta[i]);
                    if (mask.On) mask.Fill<TOps, TV>(head.MaskBase + (long)i * time + j0, 1, keep, block);
                    for (int v = 0; v < block; v += w)
                    {
                        TV p = TOps.Exp(TOps.Sub(TOps.Load(pRow + v), l));
                        if (visible < v + w) p = TOps.SelectLess(TOps.Load(laneIndex), TOps.Broadcast(visible - v), p, TOps.Zero);
                        TV dp = TOps.Load(dRow + v), kept = p;
                        if (mask.On)
                        {
                            TV m = TOps.Load(keep + v);
                            kept = TOps.Mul(p, m);
                            dp = TOps.Mul(dp, m);
                        }
                        TOps.Store(pRow + v, kept);
                        TOps.Store(dRow + v, TOps.Mul(TOps.Mul(p, TOps.Sub(dp, d)), scaleVector));
                    }
                }
                // Rows past the end of the sequence hold zeros in P' and dS: the sums stop before them.
                for (int k = 0; k < keyCount; k += Rows)
                for (int c = 0; c < size; c += lanes)
                {
                    Tile<TOps, TV>(validRows, probabilities + k, block, gradientRows + i0 * gradientStride + c, gradientStride,
                        dv + k * sp + c, sp, accumulate: true);
                    Tile<TOps, TV>(validRows, dScores + k, block, queryRows + i0 * queryStride + c, queryStride,
                        dk + k * sp + c, sp, accumulate: true);
                }
                for (int g = 0; g < validRows; g += Rows)
                {
                    Transpose(dScores + g * block, block, Rows, keyCount, dScoresT + g * block, Rows, vectorised);
                    for (int c = 0; c < size; c += lanes)
                        Tile<TOps, TV>(keyCount, dScoresT + g * block, Rows, keyRows + j0 * keyStride + c, keyStride,
                            dq + (long)(i0 + g) * sp + c, sp, accumulate: true);
                }
            }
            for (int k = 0; k < keyCount; k++)
            {
                float* row = head.DQkv + (j0 + k) * qkvStride;
                VectorOps.Copy<TOps, TV>(dk + k * sp, row + dim, size);
                VectorOps.Copy<TOps, TV>(dv + k * sp, row + 2 * dim, size);
            }
        }
        for (int i = 0; i < time; i++) VectorOps.Copy<TOps, TV>(dq + (long)i * sp, head.DQkv + i * qkvStride, size);
    }

    /// <summary>Asks for rows [r0, r1) of a head's columns (size floats at row0 + r·stride) to be brought into L2.</summary>
    static void Prefetch(float* row0, long stride, int r0, int r1, int size)
    {
        if (!Sse.IsSupported) return;
        for (int r = r0; r < r1; r++)
        {
            float* row = row0 + r * stride;
            for (int c = 0; c < size; c += 16) Sse.Prefetch1(row + c);
            Sse.Prefetch1(row + size - 1); // the last line, when the row does not start on one
        }
    }

    /// <summary>
    /// One (batch, head) pair per item: Forward's computation for a single query, the last row. The
    /// keys are transposed so that the scores run lane-wise over keys; each score, weight sum and
    /// output value is then the same chain of operations as in Forward's lanes.
    /// </summary>
    readonly struct DecodeJob(float* q, float* keys, float* values, float* y, int heads, int dim, int length, int capacity) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int size = dim / heads, w = TOps.Count, padded = RoundUp(length, w), stride = KeyCacheStride(capacity);
            float* s = (headScratch ??= new AlignedBuffer()).Get(padded + 2 * RoundUp(size, w));
            float* scores = s, query = scores + padded, output = query + RoundUp(size, w);
            float scale = 1f / MathF.Sqrt(size);
            for (int item = start; item < end; item++)
            {
                int b = item / heads, h = item % heads;
                for (int c = 0; c < size; c++) query[c] = q[(long)b * dim + h * size + c] * scale;
                // Past length the padding columns hold zeros or stale keys: their scores are computed and never read.
                Scores<TOps, TV>(keys + ((long)b * dim + h * size) * stride, stride, padded, query, size, scores);
                DecodeHead<TOps, TV>(scores, values + (long)b * capacity * dim + h * size, output, y + (long)b * dim + h * size, length, size, dim);
            }
        }
    }

    /// <summary>
    /// scores[j] = Σ_c keysT[c·stride + j] · query[c] for j &lt; padded (a multiple of the width), one chain
    /// of fused multiply-adds over c per lane, four vectors of keys at a time so that the chains overlap.
    /// </summary>
    static void Scores<TOps, TV>(float* keysT, long stride, int padded, float* query, int size, float* scores) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, j = 0;
        for (; j + 4 * w <= padded; j += 4 * w)
        {
            TV acc0 = TOps.Zero, acc1 = TOps.Zero, acc2 = TOps.Zero, acc3 = TOps.Zero;
            for (int c = 0; c < size; c++)
            {
                float* k = keysT + c * stride + j;
                TV x = TOps.Broadcast(query[c]);
                acc0 = TOps.Fma(TOps.Load(k), x, acc0); acc1 = TOps.Fma(TOps.Load(k + w), x, acc1);
                acc2 = TOps.Fma(TOps.Load(k + 2 * w), x, acc2); acc3 = TOps.Fma(TOps.Load(k + 3 * w), x, acc3);
            }
            TOps.Store(scores + j, acc0); TOps.Store(scores + j + w, acc1);
            TOps.Store(scores + j + 2 * w, acc2); TOps.Store(scores + j + 3 * w, acc3);
        }
        for (; j < padded; j += w)
        {
            TV acc = TOps.Zero;
            for (int c = 0; c < size; c++) acc = TOps.Fma(TOps.Load(keysT + c * stride + j), TOps.Broadcast(query[c]), acc);
            TOps.Store(scores + j, acc);
        }
    }

    /// <summary>The online softmax and weighted sum of values for one query, given its scores.</summary>
    static void DecodeHead<TOps, TV>(float* scores, float* values, float* output, float* y, int length, int size, long dim)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        float m = float.NegativeInfinity, l = 0f;
        new Span<float>(output, size).Clear();
        for (int j0 = 0; j0 < length; j0 += KeyBlock)
        {
            int keyCount = Math.Min(KeyBlock, length - j0);
            float* s = scores + j0;
            float max = BlockMax<TOps, TV>(s, keyCount);
            float mNew = SimdScalar.Max(m, max), alpha = SimdScalar.Exp(m - mNew), sum = 0f;
            // The same exponential at every width; the sum keeps Forward's order, one key after another.
            int k = 0;
            for (TV shift = TOps.Broadcast(mNew); k + TOps.Count <= keyCount; k += TOps.Count)
                TOps.Store(s + k, TOps.Exp(TOps.Sub(TOps.Load(s + k), shift)));
            for (; k < keyCount; k++) s[k] = SimdScalar.Exp(s[k] - mNew);
            for (k = 0; k < keyCount; k++) sum += s[k];
            l = l * alpha + sum;
            m = mNew;
            WeightedSum<TOps, TV>(output, values + j0 * dim, dim, s, keyCount, alpha, size);
        }
        float inverse = 1f / l;
        for (int c = 0; c < size; c++) y[c] = output[c] * inverse;
    }

    /// <summary>max_k scores[k] for k &lt; count (the order does not change a maximum).</summary>
    static float BlockMax<TOps, TV>(float* scores, int count) where TOps : struct, ISimd<TV> where TV : struct
    {
        float max = float.NegativeInfinity;
        int k = 0;
        if (count >= TOps.Count)
        {
            TV lanes = TOps.Load(scores);
            for (k = TOps.Count; k + TOps.Count <= count; k += TOps.Count) lanes = TOps.Max(lanes, TOps.Load(scores + k));
            float* spill = stackalloc float[TOps.Count];
            TOps.Store(spill, lanes);
            for (int lane = 0; lane < TOps.Count; lane++) max = SimdScalar.Max(max, spill[lane]);
        }
        for (; k < count; k++) max = SimdScalar.Max(max, scores[k]);
        return max;
    }

    /// <summary>
    /// output[c] = output[c] · alpha, then output[c] = fma(values[k][c], weights[k], output[c]) for k in
    /// order; four vectors of columns at a time so that their chains overlap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void WeightedSum<TOps, TV>(float* output, float* values, long rowStride, float* weights, int count, float alpha, int n)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int c = 0, w = TOps.Count;
        TV a = TOps.Broadcast(alpha);
        for (; c <= n - 4 * w; c += 4 * w)
        {
            float* o = output + c;
            TV acc0 = TOps.Mul(TOps.Load(o), a), acc1 = TOps.Mul(TOps.Load(o + w), a);
            TV acc2 = TOps.Mul(TOps.Load(o + 2 * w), a), acc3 = TOps.Mul(TOps.Load(o + 3 * w), a);
            for (int k = 0; k < count; k++)
            {
                float* v = values + k * rowStride + c;
                TV x = TOps.Broadcast(weights[k]);
                acc0 = TOps.Fma(TOps.Load(v), x, acc0); acc1 = TOps.Fma(TOps.Load(v + w), x, acc1);
                acc2 = TOps.Fma(TOps.Load(v + 2 * w), x, acc2); acc3 = TOps.Fma(TOps.Load(v + 3 * w), x, acc3);
            }
            TOps.Store(o, acc0); TOps.Store(o + w, acc1); TOps.Store(o + 2 * w, acc2); TOps.Store(o + 3 * w, acc3);
        }
        for (; c <= n - w; c += w)
        {
            TV acc = TOps.Mul(TOps.Load(output + c), a);
            for (int k = 0; k < count; k++) acc = TOps.Fma(TOps.Load(values + k * rowStride + c), TOps.Broadcast(weights[k]), acc);
            TOps.Store(output + c, acc);
        }
        if (c < n) WeightedSum<SimdScalar, float>(output + c, values + c, rowStride, weights, count, alpha, n - c);
    }

    /// <summary>Σ x[i] y[i] for i &lt; n, one partial sum per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<TOps, TV>(float* x, float* y, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV acc = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count) acc = TOps.Fma(TOps.Load(x + i), TOps.Load(y + i), acc);
        float sum = TOps.Sum(acc);
        return i < n ? sum + Dot<SimdScalar, float>(x + i, y + i, n - i) : sum;
    }

    /// <summary>dst[c·dstStride + r] = src[r·srcStride + c] for r &lt; rows, c &lt; cols, by 8 x 8 blocks where they fit.</summary>
    static void Transpose(float* src, long srcStride, int rows, int cols, float* dst, long dstStride, bool vectorised)
    {
        int rows8 = rows & ~7, cols8 = cols & ~7;
        for (int r = 0; r < rows8; r += 8)
        {
            for (int c = 0; c < cols8; c += 8)
                Transpose8x8.Run(src + r * srcStride + c, srcStride, dst + c * dstStride + r, dstStride, vectorised);
            for (int c = cols8; c < cols; c++)
            for (int i = r; i < r + 8; i++) dst[c * dstStride + i] = src[i * srcStride + c];
        }
        for (int r = rows8; r < rows; r++)
        for (int c = 0; c < cols; c++) dst[c * dstStride + r] = src[r * srcStride + c];
    }

    /// <summary>Panels of 8 rows: panels[g][c][r] = x[(8g + r)·stride + c] for c &lt; size, zero for rows at or past time.</summary>
    static void PackPanels(float* x, long stride, int time, int size, int paddedTime, float* panels, bool vectorised)
    {
        for (int t0 = 0; t0 < paddedTime; t0 += Rows)
        {
            float* panel = panels + (long)t0 * size;
            int rows = Math.Clamp(time - t0, 0, Rows);
            if (rows < Rows) new Span<float>(panel, size * Rows).Clear();
            Transpose(x + t0 * stride, stride, rows, size, panel, Rows, vectorised);
        }
    }

    /// <summary>xT[c·xTStride + t] = x[t·stride + c] for t &lt; time, zero for time &lt;= t &lt; paddedTime.</summary>
    static void PackTransposed(float* x, long stride, int time, int size, int paddedTime, float* xT, long xTStride, bool vectorised)
    {
        Transpose(x, stride, time, size, xT, xTStride, vectorised);
        if (paddedTime > time)
            for (int c = 0; c < size; c++) new Span<float>(xT + c * xTStride + time, paddedTime - time).Clear();
    }

    /// <summary>rows[t][c] = x[t·stride + c] in rows of paddedSize, zero past size and for time &lt;= t &lt; paddedTime.</summary>
    static void PackRows(float* x, long stride, int time, int size, int paddedTime, int paddedSize, float* rows)
    {
        for (int t = 0; t < paddedTime; t++)
        {
            var row = new Span<float>(rows + (long)t * paddedSize, paddedSize);
            if (t >= time)
            {
                row.Clear();
                continue;
            }
            new ReadOnlySpan<float>(x + t * stride, size).CopyTo(row);
            row[size..].Clear();
        }
    }
}
