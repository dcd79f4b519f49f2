using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Mamba's selective state-space scan, fused with its Δ softplus and its SiLU gate, forward and backward, per sequence b
/// and channel c with a state h [N]:
/// <code>
///   Δ_t = softplus(delta_t),  A = -exp(aLog),  dA_t[n] = exp(Δ_t A[n])
///   h_t[n] = dA_t[n] h_{t-1}[n] + Δ_t B_t[n] x_t
///   y_t = (Σ_n C_t[n] h_t[n] + D x_t) · silu(z_t)
/// </code>
/// (mamba-minimal's selective_scan and the y · silu(res) after it; B_t and C_t are shared by the channels of a row).
/// The [batch, time, channels, N] states are never stored: the forward keeps only the state at the start of every chunk of
/// <see cref="ChunkLength"/> steps, and the backward, chunk by chunk from the last, recomputes the chunk's states from it
/// (in a buffer that stays in cache) and walks them in reverse:
/// <code>
///   dy_t = g_t silu(z_t), dz_t = g_t y°_t silu'(z_t) with y°_t the ungated output
///   G_t[n] = dy_t C_t[n] + dA_{t+1}[n] G_{t+1}[n]                       (dL/dh_t)
///   dC_t[n] = Σ_c dy_t h_t[n],  dB_t[n] = Σ_c G_t[n] Δ_t x_t,  dD += dy_t x_t
///   dx_t = Δ_t Σ_n G_t[n] B_t[n] + D dy_t
///   dΔ_t = Σ_n G_t[n] (A[n] dA_t[n] h_{t-1}[n] + B_t[n] x_t),  d delta_t = dΔ_t σ(delta_t)
///   d aLog[n] += A[n] Σ_t G_t[n] dA_t[n] h_{t-1}[n] Δ_t
/// </code>
/// Vectors run across channels (a state row h[n] is one vector of channels, so B_t[n] and C_t[n] are broadcasts and no sum
/// crosses lanes inside the recurrence). Threads take (sequence, channel group) items; the groups depend only on the shape,
/// and the sums across channels (dB, dC) and across sequences (d aLog, dD) are formed in a fixed order from per-item
/// partials, so results do not depend on the thread count. <see cref="SelectiveScanReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class SelectiveScan
{
    /// <summary>Time steps per chunk: the backward's recomputed states of one chunk and one vector of channels stay in L1/L2.</summary>
    public const int ChunkLength = 32;

    /// <summary>
    /// Channel groups start at multiples of this (the widest vector, and a block of the rates' and the state's table), so
    /// every width sees the same groups and no vector straddles two blocks.
    /// </summary>
    const int GroupUnit = SelectiveScanShape.BlockWidth;

    /// <summary>Items (sequences × channel groups) worth making: with a batch of one, the channels are split into groups.</summary>
    const int TargetItems = 32;

    [ThreadStatic] static float[]? partialBC, partialALog, partialD;
    [ThreadStatic] static AlignedBuffer? itemScratch;

    /// <summary>
    /// The decay rates the scan reads: rates[n, c] = A[c, n] log2(e) = -exp(aLog[c, n]) log2(e), in blocks of channels
    /// (<see cref="SelectiveScanShape.TableIndex"/>) so that a vector's rows lie side by side, and so that a decay is
    /// dA = 2^(Δ rate) (<see cref="SimdMath.Exp2NonPositive{TOps, TV}"/>, since Δ rate &lt;= 0).
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer does not match its shape.</exception>
    public static void Rates(ReadOnlySpan<float> aLog, Span<float> rates, int channels, int state)
    {
        const string op = "SelectiveScan.Rates";
        Check.Positive(op, ("channels", channels), ("state", state));
        Check.Length(op, "aLog", aLog.Length, channels, state);
        Check.Length(op, "rates", rates.Length, state, channels);
        fixed (float* a = aLog) fixed (float* r = rates)
            VectorJob.For(channels, 20L * state, new RatesJob(a, r, new SelectiveScanShape(1, 1, channels, state)));
    }

    /// <summary>
    /// y = the gated output above. With <paramref name="chunkStates"/> [batch, chunks, N, channels] (a training forward), the
    /// state at the start of every chunk is kept there for <see cref="Backward"/>. With <paramref name="state"/>
    /// [batch, N, channels] (each sequence's in <see cref="SelectiveScanShape.TableIndex"/>'s layout), the scan starts from it
    /// (else from h_0 = 0) and leaves the final state in it.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer does not match its shape.</exception>
    public static void Forward(scoped in SelectiveScanInputs inputs, SelectiveScanShape shape, Span<float> y, Span<float> chunkStates, Span<float> state)
    {
        const string op = "SelectiveScan.Forward";
        Validate(op, inputs, shape);
        Check.Length(op, "y", y.Length, shape.Batch, shape.Time, shape.Channels);
        if (!chunkStates.IsEmpty) Check.Length(op, "chunkStates", chunkStates.Length, shape.Batch, shape.Chunks, shape.State, shape.Channels);
        if (!state.IsEmpty) Check.Length(op, "state", state.Length, shape.Batch, shape.State, shape.Channels);
        var groups = Groups.Of(shape);
        fixed (float* x = inputs.X) fixed (float* delta = inputs.Delta) fixed (float* pa = inputs.Rates) fixed (float* bc = inputs.BC)
        fixed (float* d = inputs.D) fixed (float* z = inputs.Z) fixed (float* py = y) fixed (float* states = chunkStates)
        fixed (float* carried = state)
        {
            var context = new Context(shape, groups, x, delta, pa, bc, inputs.BCStride, d, z, inputs.ZStride)
            {
                Y = py, ChunkStates = chunkStates.IsEmpty ? null : states, State = state.IsEmpty ? null : carried,
            };
            VectorJob.For(shape.Batch * groups.Count, (long)shape.Time * groups.Size * shape.State * 24, new ForwardJob(context));
        }
    }

    /// <summary>
    /// The gradients above from dL/dy <paramref name="dy"/>, given the forward's inputs and the chunk states it kept
    /// (which hold its initial state too). dx, d delta, dB|dC and dz are written; d aLog and dD are added to.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer does not match its shape, or an output
    /// overlaps an input.</exception>
    public static void Backward(scoped in SelectiveScanInputs inputs, SelectiveScanShape shape, ReadOnlySpan<float> chunkStates,
        ReadOnlySpan<float> dy, scoped in SelectiveScanGradients gradients)
    {
        const string op = "SelectiveScan.Backward";
        Validate(op, inputs, shape);
        int batch = shape.Batch, time = shape.Time, channels = shape.Channels, n = shape.State;
        Check.Length(op, "chunkStates", chunkStates.Length, batch, shape.Chunks, n, channels);
        Check.Length(op, "dy", dy.Length, batch, time, channels);
        Check.Length(op, "dx", gradients.X.Length, batch, time, channels);
        Check.Length(op, "dDelta", gradients.Delta.Length, batch, time, channels);
        Check.Length(op, "dALog", gradients.ALog.Length, channels, n);
        Check.Length(op, "dD", gradients.D.Length, channels);
        Columns.Strided(op, "dBC", gradients.BC.Length, shape.Rows, 2 * n, inputs.BCStride);
        Columns.Strided(op, "dz", gradients.Z.Length, shape.Rows, channels, inputs.ZStride);
        Check.Disjoint(op, "dy", dy, "dx", gradients.X);
        Check.Disjoint(op, "x", inputs.X, "dx", gradients.X);
        Check.Disjoint(op, "delta", inputs.Delta, "dDelta", gradients.Delta);
        Check.Disjoint(op, "bc", inputs.BC, "dBC", gradients.BC);
        Check.Disjoint(op, "z", inputs.Z, "dz", gradients.Z);
        var groups = Groups.Of(shape);
        float[] bcSums = Scratch.Get(ref partialBC, batch * groups.Count * time * 2 * n);
        float[] aLogSums = Scratch.Get(ref partialALog, batch * channels * n), dSums = Scratch.Get(ref partialD, batch * channels);
        fixed (float* x = inputs.X) fixed (float* delta = inputs.Delta) fixed (float* pa = inputs.Rates) fixed (float* bc = inputs.BC)
        fixed (float* d = inputs.D) fixed (float* z = inputs.Z) fixed (float* states = chunkStates) fixed (float* g = dy)
        fixed (float* dx = gradients.X) fixed (float* dDelta = gradients.Delta) fixed (float* dALog = gradients.ALog)
        fixed (float* dBC = gradients.BC) fixed (float* dD = gradients.D) fixed (float* dz = gradients.Z)
        fixed (float* pbc = bcSums) fixed (float* paLog = aLogSums) fixed (float* pd = dSums)
        {
            var context = new Context(shape, groups, x, delta, pa, bc, inputs.BCStride, d, z, inputs.ZStride)
            {
                ChunkStates = states, DY = g, DX = dx, DDelta = dDelta, DZ = dz,
                PartialBC = pbc, PartialALog = paLog, PartialD = pd,
            };
            VectorJob.For(batch * groups.Count, (long)time * groups.Size * n * 48, new BackwardJob(context));
            VectorJob.For(shape.Rows, (long)groups.Count * 2 * n, new SumGroupsJob(context, dBC));
            ColumnSums.Accumulate(paLog, dALog, batch, channels * n);
            ColumnSums.Accumulate(pd, dD, batch, channels);
        }
    }

    static void Validate(string op, scoped in SelectiveScanInputs inputs, SelectiveScanShape shape)
    {
        Check.Positive(op, ("batch", shape.Batch), ("time", shape.Time), ("channels", shape.Channels), ("state", shape.State));
        Check.Length(op, "x", inputs.X.Length, shape.Batch, shape.Time, shape.Channels);
        Check.Length(op, "delta", inputs.Delta.Length, shape.Batch, shape.Time, shape.Channels);
        Check.Length(op, "rates", inputs.Rates.Length, shape.State, shape.Channels);
        Columns.Strided(op, "bc", inputs.BC.Length, shape.Rows, 2 * shape.State, inputs.BCStride);
        Check.Length(op, "d", inputs.D.Length, shape.Channels);
        Columns.Strided(op, "z", inputs.Z.Length, shape.Rows, shape.Channels, inputs.ZStride);
    }

    const float Log2E = 1.44269504f, Ln2 = 0.693147181f;

    /// <summary>One channel per item: its row of aLog through the vector exp, then scattered into the rates' column.</summary>
    readonly struct RatesJob(float* aLog, float* rates, SelectiveScanShape table) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int n = table.State;
            float* row = stackalloc float[n];
            for (int c = start; c < end; c++)
            {
                float* source = aLog + (long)c * n;
                int s = 0;
                for (; s <= n - TOps.Count; s += TOps.Count)
                    TOps.Store(row + s, TOps.Mul(TOps.Exp(TOps.Load(source + s)), TOps.Broadcast(-Log2E)));
                for (; s < n; s++) row[s] = SimdScalar.Exp(source[s]) * -Log2E;
                for (s = 0; s < n; s++) rates[table.TableIndex(s, c)] = row[s];
            }
        }
    }

    /// <summary>
    /// The channel groups: ceil(<see cref="TargetItems"/> / batch) of them (at most one per <see cref="GroupUnit"/>
    /// channels), each <see cref="Size"/> channels, a multiple of <see cref="GroupUnit"/>, the last possibly shorter.
    /// </summary>
    readonly record struct Groups(int Count, int Size)
    {
        public static Groups Of(SelectiveScanShape shape)
        {
            int units = (shape.Channels + GroupUnit - 1) / GroupUnit;
            int wanted = Math.Clamp((TargetItems + shape.Batch - 1) / shape.Batch, 1, units);
            int size = (units + wanted - 1) / wanted * GroupUnit;
            return new Groups((shape.Channels + size - 1) / size, size);
        }
    }

    /// <summary>Pointers and sizes of one call (A as <see cref="Rates"/> lays it out); the backward's outputs are null in a forward and the other way round.</summary>
    readonly struct Context(SelectiveScanShape shape, Groups groups, float* x, float* delta, float* a, float* bc, int bcStride,
        float* d, float* z, int zStride)
    {
        public readonly SelectiveScanShape Shape = shape;
        public readonly int Time = shape.Time, Channels = shape.Channels, N = shape.State, Chunks = shape.Chunks;
        public readonly Groups Groups = groups;
        public readonly float* X = x, Delta = delta, A = a, BC = bc, D = d, Z = z;
        public readonly int BCStride = bcStride, ZStride = zStride;
        public float* Y { get; init; }
        public float* ChunkStates { get; init; }
        public float* State { get; init; }
        public float* DY { get; init; }
        public float* DX { get; init; }
        public float* DDelta { get; init; }
        public float* DZ { get; init; }
        /// <summary>[batch, groups, time, 2N]: each item's sums of dB|dC over its channels.</summary>
        public float* PartialBC { get; init; }
        /// <summary>[batch, channels, N] and [batch, channels]: each sequence's d aLog and dD.</summary>
        public float* PartialALog { get; init; }
        public float* PartialD { get; init; }

        /// <summary>Where channel c's rate of state 0 lies (<see cref="SelectiveScanShape.TableIndex"/>).</summary>
        public float* RateRow(int c) => A + Shape.TableRow(c);

        /// <summary>Where sequence b's carried state of channel c, state 0, lies (<see cref="SelectiveScanShape.TableIndex"/>).</summary>
        public float* StateRow(int b, int c) => State + Shape.StateIndex(b, 0, c);

        /// <summary>Offset of element c of row (b, t) in a [batch, time, channels] tensor.</summary>
        public long At(int b, int t, int c) => ((long)b * Time + t) * Channels + c;

        /// <summary>
        /// Before vector c of chunk t0 runs: asks for the next vector's rows (c + <paramref name="width"/>, if it is below
        /// <paramref name="vectorEnd"/>), or else for the first vector's rows of chunk <paramref name="nextT0"/> (none when
        /// it is negative). See <see cref="Prefetch"/>.
        /// </summary>
        public void PrefetchNext(int b, int c, int width, int first, int vectorEnd, int t0, int nextT0, bool backward)
        {
            if (c + width < vectorEnd) Prefetch(b, c + width, t0, backward);
            else if (nextT0 >= 0) Prefetch(b, first, nextT0, backward);
        }

        /// <summary>
        /// Asks for the line holding channel c of every row of chunk t0 of sequence b, in each tensor the forward (or the
        /// backward) reads or writes there: the next vector's work, whose rows lie a row of channels apart, a stride the
        /// hardware prefetchers do not follow (without this, forward and backward take 15-20% longer). Asking for the
        /// vector's second line as well measured slower: the prefetchers fetch neighbouring lines on their own.
        /// </summary>
        void Prefetch(int b, int c, int t0, bool backward)
        {
            if (!Sse.IsSupported) return;
            for (int t = t0, end = Math.Min(t0 + ChunkLength, Time); t < end; t++)
            {
                long at = At(b, t, c), row = ((long)b * Time + t) * ZStride + c;
                Sse.Prefetch1(X + at); Sse.Prefetch1(Delta + at); Sse.Prefetch1(Z + row);
                if (backward) { Sse.Prefetch1(DY + at); Sse.Prefetch1(DX + at); Sse.Prefetch1(DDelta + at); Sse.Prefetch1(DZ + row); }
                else Sse.Prefetch1(Y + at);
            }
        }

        /// <summary>Channels [first, end) of item i's group, and its sequence.</summary>
        public (int B, int First, int End) Item(int i)
        {
            int g = i % Groups.Count, first = g * Groups.Size;
            return (i / Groups.Count, first, Math.Min(first + Groups.Size, Channels));
        }
    }

    /// <summary>
    /// One item of the forward: chunk by chunk, every vector of the item's channels (each vector's state [N, width] waiting
    /// in the item's scratch between chunks), so that the chunk's rows of x, delta, z and y, contiguous in memory, are read
    /// and written while they are close together rather than a whole sequence's column at a time. A single step from a
    /// carried state (a generated character) goes its own way: <see cref="ForwardOneStep"/>.
    /// </summary>
    readonly struct ForwardJob(Context context) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int n = context.N, size = context.Groups.Size, lanes = GroupUnit;
            bool oneStep = context.Time == 1 && context.State != null && context.ChunkStates == null;
            float* scratch = (itemScratch ??= new AlignedBuffer()).Get(oneStep ? 3 * size : size * n + (n + 3 * ChunkLength) * lanes);
            float* rates = scratch + size * n, steps = rates + n * lanes;
            for (int i = start; i < end; i++)
            {
                var (b, first, last) = context.Item(i);
                int vectorEnd = first + (last - first) / TOps.Count * TOps.Count;
                if (oneStep)
                {
                    ForwardOneStep<TOps, TV>(context, b, first, vectorEnd, scratch);
                    ForwardOneStep<SimdScalar, float>(context, b, vectorEnd, last, scratch + 3 * (vectorEnd - first));
                    continue;
                }
                for (int t0 = 0; t0 < context.Time; t0 += ChunkLength)
                {
                    for (int c = first; c < vectorEnd; c += TOps.Count)
                    {
                        context.PrefetchNext(b, c, TOps.Count, first, vectorEnd, t0, t0 + ChunkLength < context.Time ? t0 + ChunkLength : -1, false);
                        ForwardChunk<TOps, TV>(context, b, c, t0, scratch + (c - first) * n, rates, steps);
                    }
                    for (int c = vectorEnd; c < last; c++)
                        ForwardChunk<SimdScalar, float>(context, b, c, t0, scratch + (c - first) * n, rates, steps);
                }
            }
        }
    }

    /// <summary>
    /// Steps [t0, t0 + L) of channels c .. c + width - 1 of sequence b, the state h [N, width] in <paramref name="h"/> (taken
    /// from the carried state or zero at t0 = 0, left in the carried state after the last step). The chunk's decay rates are
    /// first copied into <paramref name="rates"/> [N, width], rows a vector apart as the state's in h (in the table they are
    /// a block of 16 channels apart, wider than a narrower vector); then a first pass forms each step's Δ, Δx and gate into
    /// <paramref name="steps"/> [3, L, width]: those are independent of one another, so their exps and logs overlap, where
    /// inside the recurrence each step would wait for them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ForwardChunk<TOps, TV>(in Context k, int b, int c, int t0, float* h, float* rates, float* steps)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, n = k.N, channels = k.Channels, lanes = GroupUnit, count = Math.Min(ChunkLength, k.Time - t0);
        int stride = k.Shape.TableStride(c);
        float* deltas = steps, deltaXs = deltas + ChunkLength * lanes, gates = deltaXs + ChunkLength * lanes;
        float* carried = k.State == null ? null : k.StateRow(b, c), rateRow = k.RateRow(c);
        if (t0 == 0)
            for (int s = 0; s < n; s++) TOps.Store(h + s * w, carried == null ? TOps.Zero : TOps.Load(carried + s * stride));
        for (int s = 0; s < n; s++) TOps.Store(rates + s * w, TOps.Load(rateRow + s * stride));
        if (k.ChunkStates != null)
        {
            float* kept = k.ChunkStates + ((long)b * k.Chunks + t0 / ChunkLength) * n * channels + c;
            for (int s = 0; s < n; s++) TOps.Store(kept + (long)s * channels, TOps.Load(h + s * w));
        }
        for (int i = 0; i < count; i++)
        {
            long at = k.At(b, t0 + i, c), row = (long)b * k.Time + t0 + i;
            TV delta = SimdMath.SoftplusWithSlope<TOps, TV>(TOps.Load(k.Delta + at), out _);
            TOps.Store(deltas + i * w, delta);
            TOps.Store(deltaXs + i * w, TOps.Mul(delta, TOps.Load(k.X + at)));
            TOps.Store(gates + i * w, Silu.Value<TOps, TV>(TOps.Load(k.Z + row * k.ZStride + c)));
        }
        TV dc = TOps.Load(k.D + c);
        for (int i = 0; i < count; i++)
            ForwardStep<TOps, TV>(k, b, t0 + i, c, h, rates, w, dc, TOps.Load(deltas + i * w), TOps.Load(deltaXs + i * w), TOps.Load(gates + i * w));
        if (carried != null && t0 + count == k.Time)
            for (int s = 0; s < n; s++) TOps.Store(carried + s * stride, TOps.Load(h + s * w));
    }

    /// <summary>
    /// The single step of channels [<paramref name="first"/>, <paramref name="end"/>) (a multiple of the width apart) of
    /// sequence b from its carried state: first every vector's Δ, Δx and gate into <paramref name="steps"/> [3, end - first]
    /// (independent of one another, so their exps and logs overlap), then every vector's states, read from the carried
    /// state and the rates where they lie (their blocks put a vector's rows side by side) and written back there. The same
    /// arithmetic as <see cref="ForwardChunk"/>, without its copies into and out of the item's scratch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ForwardOneStep<TOps, TV>(in Context k, int b, int first, int end, float* steps) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, count = end - first;
        float* deltas = steps, deltaXs = deltas + count, gates = deltaXs + count;
        long row = (long)b * k.ZStride;
        for (int c = first; c < end; c += w)
        {
            long at = k.At(b, 0, c);
            TV delta = SimdMath.SoftplusWithSlope<TOps, TV>(TOps.Load(k.Delta + at), out _);
            TOps.Store(deltas + (c - first), delta);
            TOps.Store(deltaXs + (c - first), TOps.Mul(delta, TOps.Load(k.X + at)));
            TOps.Store(gates + (c - first), Silu.Value<TOps, TV>(TOps.Load(k.Z + row + c)));
        }
        for (int c = first; c < end; c += w)
            ForwardStep<TOps, TV>(k, b, 0, c, k.StateRow(b, c), k.RateRow(c), k.Shape.TableStride(c), TOps.Load(k.D + c),
                TOps.Load(deltas + (c - first)), TOps.Load(deltaXs + (c - first)), TOps.Load(gates + (c - first)));
    }

    /// <summary>
    /// Step t: every state h_t[s] from h_{t-1}[s] in <paramref name="h"/> with the decay rates <paramref name="a"/> [N, width],
    /// each array's rows <paramref name="stride"/> apart, and y_t = (Σ_s C_t[s] h_t[s] + D x_t) · gate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ForwardStep<TOps, TV>(in Context k, int b, int t, int c, float* h, float* a, int stride, TV dc, TV delta, TV deltaU, TV gate)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int n = k.N;
        long at = k.At(b, t, c), row = (long)b * k.Time + t;
        TV y = TOps.Mul(dc, TOps.Load(k.X + at));
        float* bRow = k.BC + row * k.BCStride, cRow = bRow + n;
        // Two sums of C·h, over even and odd states, halve the chain of dependent multiply-adds.
        TV yOdd = TOps.Zero;
        int s = 0;
        for (; s + 1 < n; s += 2)
        {
            y = TOps.Fma(TOps.Broadcast(cRow[s]), NextState<TOps, TV>(a + s * stride, h + s * stride, h + s * stride, delta, deltaU, bRow[s]), y);
            yOdd = TOps.Fma(TOps.Broadcast(cRow[s + 1]), NextState<TOps, TV>(a + (s + 1) * stride, h + (s + 1) * stride, h + (s + 1) * stride,
                delta, deltaU, bRow[s + 1]), yOdd);
        }
        if (s < n) y = TOps.Fma(TOps.Broadcast(cRow[s]), NextState<TOps, TV>(a + s * stride, h + s * stride, h + s * stride, delta, deltaU, bRow[s]), y);
        TOps.Store(k.Y + at, TOps.Mul(TOps.Add(y, yOdd), gate));
    }

    /// <summary>h_t[s] = 2^(Δ rate[s]) h_{t-1}[s] + Δx B[s], read from <paramref name="previous"/>, stored to <paramref name="next"/> and returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV NextState<TOps, TV>(float* rate, float* previous, float* next, TV delta, TV deltaX, float b) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV hs = TOps.Fma(SimdMath.Exp2NonPositive<TOps, TV>(TOps.Mul(delta, TOps.Load(rate))), TOps.Load(previous), TOps.Mul(deltaX, TOps.Broadcast(b)));
        TOps.Store(next, hs);
        return hs;
    }

    /// <summary>
    /// One item of the backward: chunks from the last to the first, each over every vector of the item's channels (the
    /// carried G and the d aLog, dD sums of each vector waiting in the item's scratch between chunks), then the chunk's
    /// dB|dC lanes summed into the item's partial rows.
    /// </summary>
    readonly struct BackwardJob(Context context) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int n = context.N, size = context.Groups.Size, lanes = GroupUnit;
            var layout = new ChunkBuffers(n, lanes);
            float* scratch = (itemScratch ??= new AlignedBuffer()).Get(layout.Floats + size * (2 * n + 1));
            float* carry = scratch + layout.Floats, aLogSums = carry + size * n, dSums = aLogSums + size * n;
            for (int i = start; i < end; i++)
            {
                var (b, first, last) = context.Item(i);
                int width = last - first, vectorEnd = first + width / TOps.Count * TOps.Count;
                new Span<float>(carry, size * (2 * n + 1)).Clear();
                for (int chunk = context.Chunks - 1; chunk >= 0; chunk--)
                {
                    int t0 = chunk * ChunkLength, t1 = Math.Min(t0 + ChunkLength, context.Time);
                    layout.ClearSums(scratch, t1 - t0);
                    for (int c = first; c < vectorEnd; c += TOps.Count)
                    {
                        context.PrefetchNext(b, c, TOps.Count, first, vectorEnd, t0, chunk > 0 ? t0 - ChunkLength : -1, true);
                        BackwardChunk<TOps, TV>(context, b, c, t0, t1, scratch, layout.VectorSums(scratch), carry + (c - first) * n,
                            aLogSums + (c - first) * n, dSums + (c - first));
                    }
                    for (int c = vectorEnd; c < last; c++)
                        BackwardChunk<SimdScalar, float>(context, b, c, t0, t1, scratch, layout.ScalarSums(scratch), carry + (c - first) * n,
                            aLogSums + (c - first) * n, dSums + (c - first));
                    float* partial = context.PartialBC + (((long)b * context.Groups.Count + first / size) * context.Time + t0) * 2 * n;
                    float* vectorSums = layout.VectorSums(scratch), scalarSums = layout.ScalarSums(scratch);
                    for (int j = 0; j < (t1 - t0) * 2 * n; j++)
                        partial[j] = TOps.Sum(TOps.Load(vectorSums + (long)j * TOps.Count)) + scalarSums[j];
                }
                for (int c = first; c < last; c++)
                {
                    // Vector blocks keep [N, width] per block, the scalar tail [N, 1] per channel.
                    int block = c < vectorEnd ? first + (c - first) / TOps.Count * TOps.Count : c, lane = c - block, w = c < vectorEnd ? TOps.Count : 1;
                    float* sums = aLogSums + (block - first) * n;
                    float* partial = context.PartialALog + ((long)b * context.Channels + c) * n;
                    for (int s = 0; s < n; s++) partial[s] = context.A[context.Shape.TableIndex(s, c)] * Ln2 * sums[s * w + lane];
                    context.PartialD[(long)b * context.Channels + c] = dSums[c - first];
                }
            }
        }
    }

    /// <summary>
    /// The per-thread buffers of one chunk of one vector (of at most <paramref name="lanes"/> channels): the states
    /// h_{t0-1} .. h_{t1-1} [L + 1, N, lanes], the decays dA [L, N, lanes], the per-step rows [L, lanes] named below, then
    /// the dB|dC sums of the chunk across vectors [L, 2N, lanes] and across the scalar tail [L, 2N].
    /// </summary>
    readonly struct ChunkBuffers(int n, int lanes)
    {
        /// <summary>The per-step rows: Δ, Δ·x, σ(delta), dy, g·silu'(z), and the walk back's Σ_s G B and Σ_s G dA h rate.</summary>
        public const int Delta = 0, DeltaX = 1, Slope = 2, Dy = 3, GateSlope = 4, GB = 5, GDecay = 6;
        const int StepRows = 7;

        public int States => 0;
        public int Decays => (ChunkLength + 1) * n * lanes;
        int Steps => Decays + ChunkLength * n * lanes;
        int Vector => Steps + StepRows * ChunkLength * lanes;

        /// <summary>Per-step row <paramref name="row"/> (<see cref="Delta"/> .. <see cref="GDecay"/>) of the buffers.</summary>
        public float* Step(float* scratch, int row) => scratch + Steps + row * ChunkLength * lanes;
        int Scalar => Vector + ChunkLength * 2 * n * lanes;
        public int Floats => Scalar + ChunkLength * 2 * n;

        public float* VectorSums(float* scratch) => scratch + Vector;
        public float* ScalarSums(float* scratch) => scratch + Scalar;

        public void ClearSums(float* scratch, int steps)
        {
            new Span<float>(scratch + Vector, steps * 2 * n * lanes).Clear();
            new Span<float>(scratch + Scalar, steps * 2 * n).Clear();
        }
    }

    /// <summary>
    /// Steps [t0, t1) of channels c .. c + w - 1 of sequence b. First the chunk's states are recomputed from the one kept at
    /// t0, and with them what needs no reverse walk: y° (for dz), dz, dy and dC. Then the walk back, <paramref name="carry"/>
    /// [N, w] holding dA_{t+1} G_{t+1} from the chunk after, <paramref name="aLogSums"/> [N, w] and <paramref name="dSums"/>
    /// [w] the sums for d aLog and dD, <paramref name="sums"/> [t1 - t0, 2N, w] this chunk's dB|dC lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void BackwardChunk<TOps, TV>(in Context k, int b, int c, int t0, int t1, float* buffers, float* sums, float* carry,
        float* aLogSums, float* dSums) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, n = k.N, channels = k.Channels, steps = t1 - t0, lanes = GroupUnit;
        var layout = new ChunkBuffers(n, lanes);
        float* h = buffers + layout.States, decays = buffers + layout.Decays;
        float* deltas = layout.Step(buffers, ChunkBuffers.Delta), deltaXs = layout.Step(buffers, ChunkBuffers.DeltaX);
        float* slopes = layout.Step(buffers, ChunkBuffers.Slope), dys = layout.Step(buffers, ChunkBuffers.Dy);
        float* gateSlopes = layout.Step(buffers, ChunkBuffers.GateSlope);
        float* a = k.RateRow(c);
        int stride = k.Shape.TableStride(c);
        TV dc = TOps.Load(k.D + c);

        // Each step's Δ, Δx, σ(delta), dy and g·silu'(z) first: independent of one another, their exps and logs overlap.
        for (int i = 0; i < steps; i++)
        {
            long at = k.At(b, t0 + i, c), row = (long)b * k.Time + t0 + i;
            TV g = TOps.Load(k.DY + at);
            TV gate = Silu.ValueAndSlope<TOps, TV>(TOps.Load(k.Z + row * k.ZStride + c), out TV gateSlope);
            TV delta = SimdMath.SoftplusWithSlope<TOps, TV>(TOps.Load(k.Delta + at), out TV slope);
            TOps.Store(deltas + i * w, delta);
            TOps.Store(deltaXs + i * w, TOps.Mul(delta, TOps.Load(k.X + at)));
            TOps.Store(slopes + i * w, slope);
            TOps.Store(dys + i * w, TOps.Mul(g, gate));
            TOps.Store(gateSlopes + i * w, TOps.Mul(g, gateSlope));
        }
        float* kept = k.ChunkStates + ((long)b * k.Chunks + t0 / ChunkLength) * n * channels + c;
        for (int s = 0; s < n; s++) TOps.Store(h + s * w, TOps.Load(kept + (long)s * channels));
        for (int i = 0; i < steps; i++)
        {
            long at = k.At(b, t0 + i, c), row = (long)b * k.Time + t0 + i;
            TV dy = TOps.Load(dys + i * w), u = TOps.Load(k.X + at), delta = TOps.Load(deltas + i * w), deltaU = TOps.Load(deltaXs + i * w);
            TV y = TOps.Mul(dc, u);
            float* bRow = k.BC + row * k.BCStride, cRow = bRow + n, previous = h + i * n * w, next = previous + n * w, decay = decays + i * n * w;
            float* dC = sums + (i * 2 + 1) * n * w;
            TV yOdd = TOps.Zero;
            int s = 0;
            for (; s + 1 < n; s += 2)
            {
                y = Recompute<TOps, TV>(a + s * stride, previous + s * w, next + s * w, decay + s * w, dC + s * w, delta, deltaU, dy, bRow[s], cRow[s], y);
                yOdd = Recompute<TOps, TV>(a + (s + 1) * stride, previous + (s + 1) * w, next + (s + 1) * w, decay + (s + 1) * w, dC + (s + 1) * w,
                    delta, deltaU, dy, bRow[s + 1], cRow[s + 1], yOdd);
            }
            if (s < n) y = Recompute<TOps, TV>(a + s * stride, previous + s * w, next + s * w, decay + s * w, dC + s * w, delta, deltaU, dy, bRow[s], cRow[s], y);
            TOps.Store(k.DZ + row * k.ZStride + c, TOps.Mul(TOps.Add(y, yOdd), TOps.Load(gateSlopes + i * w)));
            TOps.Store(dSums, TOps.Fma(dy, u, TOps.Load(dSums)));
        }

        // The walk back, eight states at a time: their carries and d aLog sums stay in registers over the chunk's steps.
        for (int s = 0; s < n; s += 8)
            ReverseStates<TOps, TV>(k, b, c, t0, steps, s, Math.Min(8, n - s), buffers, sums, carry, aLogSums);
        float* gbs = layout.Step(buffers, ChunkBuffers.GB), gDecays = layout.Step(buffers, ChunkBuffers.GDecay);
        for (int i = 0; i < steps; i++)
        {
            long at = k.At(b, t0 + i, c);
            TV dy = TOps.Load(dys + i * w), delta = TOps.Load(deltas + i * w), gb = TOps.Load(gbs + i * w);
            TOps.Store(k.DX + at, TOps.Fma(delta, gb, TOps.Mul(dy, dc)));
            // gDecay sums q h a with a = A log2(e): dΔ = Σ q h A + x Σ G B = ln2 gDecay + x gb.
            TV u = TOps.Load(k.X + at);
            TOps.Store(k.DDelta + at, TOps.Mul(TOps.Fma(TOps.Load(gDecays + i * w), TOps.Broadcast(Ln2), TOps.Mul(u, gb)), TOps.Load(slopes + i * w)));
        }
    }

    /// <summary>
    /// The walk back from step t1 - 1 to t0 for states <paramref name="first"/> .. first + count - 1 (count &lt;= 8) of
    /// channels c .. c + w - 1: their G carries (from <paramref name="carry"/>, left there for the chunk before) and d aLog
    /// sums are registers across the steps; each step's G B and G dA h rate sums over these states are added to the
    /// chunk's per-step sums (stored by the first states), and dB_t[s] to the chunk's dB lanes. Eight states a pass give the
    /// out-of-order core eight independent carries to overlap; their per-step sums are kept as two sums of four states,
    /// added in that order, as two passes of four would add them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ReverseStates<TOps, TV>(in Context k, int b, int c, int t0, int steps, int first, int count, float* buffers, float* sums,
        float* carry, float* aLogSums) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, n = k.N, lanes = GroupUnit;
        var layout = new ChunkBuffers(n, lanes);
        float* h = buffers + layout.States + first * w, decays = buffers + layout.Decays + first * w;
        float* deltas = layout.Step(buffers, ChunkBuffers.Delta), deltaXs = layout.Step(buffers, ChunkBuffers.DeltaX);
        float* dys = layout.Step(buffers, ChunkBuffers.Dy), gbs = layout.Step(buffers, ChunkBuffers.GB), gDecays = layout.Step(buffers, ChunkBuffers.GDecay);
        int stride = k.Shape.TableStride(c);
        float* rate = k.RateRow(c) + first * stride;
        float* g = carry + first * w, aSums = aLogSums + first * w;
        TV g0 = TOps.Load(g), a0 = TOps.Load(aSums);
        TV g1 = count > 1 ? TOps.Load(g + 1 * w) : TOps.Zero, a1 = count > 1 ? TOps.Load(aSums + 1 * w) : TOps.Zero;
        TV g2 = count > 2 ? TOps.Load(g + 2 * w) : TOps.Zero, a2 = count > 2 ? TOps.Load(aSums + 2 * w) : TOps.Zero;
        TV g3 = count > 3 ? TOps.Load(g + 3 * w) : TOps.Zero, a3 = count > 3 ? TOps.Load(aSums + 3 * w) : TOps.Zero;
        TV g4 = count > 4 ? TOps.Load(g + 4 * w) : TOps.Zero, a4 = count > 4 ? TOps.Load(aSums + 4 * w) : TOps.Zero;
        TV g5 = count > 5 ? TOps.Load(g + 5 * w) : TOps.Zero, a5 = count > 5 ? TOps.Load(aSums + 5 * w) : TOps.Zero;
        TV g6 = count > 6 ? TOps.Load(g + 6 * w) : TOps.Zero, a6 = count > 6 ? TOps.Load(aSums + 6 * w) : TOps.Zero;
        TV g7 = count > 7 ? TOps.Load(g + 7 * w) : TOps.Zero, a7 = count > 7 ? TOps.Load(aSums + 7 * w) : TOps.Zero;
        for (int i = steps - 1; i >= 0; i--)
        {
            long row = (long)b * k.Time + t0 + i;
            TV dy = TOps.Load(dys + i * w), delta = TOps.Load(deltas + i * w), deltaU = TOps.Load(deltaXs + i * w);
            float* bRow = k.BC + row * k.BCStride + first, cRow = bRow + n, previous = h + i * n * w, decay = decays + i * n * w;
            float* dB = sums + i * 2 * n * w + first * w;
            TV gb = TOps.Zero, gDecay = TOps.Zero, gbHigh = TOps.Zero, gDecayHigh = TOps.Zero;
            Reverse<TOps, TV>(rate, previous, decay, dB, delta, deltaU, dy, bRow[0], cRow[0], ref g0, ref a0, ref gb, ref gDecay);
            if (count > 1)
                Reverse<TOps, TV>(rate + 1 * stride, previous + 1 * w, decay + 1 * w, dB + 1 * w, delta, deltaU, dy, bRow[1], cRow[1], ref g1, ref a1, ref gb, ref gDecay);
            if (count > 2)
                Reverse<TOps, TV>(rate + 2 * stride, previous + 2 * w, decay + 2 * w, dB + 2 * w, delta, deltaU, dy, bRow[2], cRow[2], ref g2, ref a2, ref gb, ref gDecay);
            if (count > 3)
                Reverse<TOps, TV>(rate + 3 * stride, previous + 3 * w, decay + 3 * w, dB + 3 * w, delta, deltaU, dy, bRow[3], cRow[3], ref g3, ref a3, ref gb, ref gDecay);
            if (count > 4)
                Reverse<TOps, TV>(rate + 4 * stride, previous + 4 * w, decay + 4 * w, dB + 4 * w, delta, deltaU, dy, bRow[4], cRow[4], ref g4, ref a4, ref gbHigh, ref gDecayHigh);
            if (count > 5)
                Reverse<TOps, TV>(rate + 5 * stride, previous + 5 * w, decay + 5 * w, dB + 5 * w, delta, deltaU, dy, bRow[5], cRow[5], ref g5, ref a5, ref gbHigh, ref gDecayHigh);
            if (count > 6)
                Reverse<TOps, TV>(rate + 6 * stride, previous + 6 * w, decay + 6 * w, dB + 6 * w, delta, deltaU, dy, bRow[6], cRow[6], ref g6, ref a6, ref gbHigh, ref gDecayHigh);
            if (count > 7)
                Reverse<TOps, TV>(rate + 7 * stride, previous + 7 * w, decay + 7 * w, dB + 7 * w, delta, deltaU, dy, bRow[7], cRow[7], ref g7, ref a7, ref gbHigh, ref gDecayHigh);
            TV gbSum = first == 0 ? gb : TOps.Add(TOps.Load(gbs + i * w), gb), gDecaySum = first == 0 ? gDecay : TOps.Add(TOps.Load(gDecays + i * w), gDecay);
            if (count > 4) { gbSum = TOps.Add(gbSum, gbHigh); gDecaySum = TOps.Add(gDecaySum, gDecayHigh); }
            TOps.Store(gbs + i * w, gbSum);
            TOps.Store(gDecays + i * w, gDecaySum);
        }
        TOps.Store(g, g0);
        TOps.Store(aSums, a0);
        if (count > 1) { TOps.Store(g + 1 * w, g1); TOps.Store(aSums + 1 * w, a1); }
        if (count > 2) { TOps.Store(g + 2 * w, g2); TOps.Store(aSums + 2 * w, a2); }
        if (count > 3) { TOps.Store(g + 3 * w, g3); TOps.Store(aSums + 3 * w, a3); }
        if (count > 4) { TOps.Store(g + 4 * w, g4); TOps.Store(aSums + 4 * w, a4); }
        if (count > 5) { TOps.Store(g + 5 * w, g5); TOps.Store(aSums + 5 * w, a5); }
        if (count > 6) { TOps.Store(g + 6 * w, g6); TOps.Store(aSums + 6 * w, a6); }
        if (count > 7) { TOps.Store(g + 7 * w, g7); TOps.Store(aSums + 7 * w, a7); }
    }

    /// <summary>
    /// One state s of a recomputed step: h_t[s] (stored with its decay), dC_t[s] += dy h_t[s], and y + C_t[s] h_t[s] returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV Recompute<TOps, TV>(float* rate, float* previous, float* next, float* decay, float* dC, TV delta, TV deltaX, TV dy, float b, float c, TV y)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        TV dA = SimdMath.Exp2NonPositive<TOps, TV>(TOps.Mul(delta, TOps.Load(rate)));
        TV hs = TOps.Fma(dA, TOps.Load(previous), TOps.Mul(deltaX, TOps.Broadcast(b)));
        TOps.Store(decay, dA);
        TOps.Store(next, hs);
        TOps.Store(dC, TOps.Fma(dy, hs, TOps.Load(dC)));
        return TOps.Fma(TOps.Broadcast(c), hs, y);
    }

    /// <summary>
    /// One state s of the walk back: G_t[s] = dy C_t[s] + <paramref name="grad"/> (the carry dA_{t+1} G_{t+1}), dB_t[s] +=
    /// G Δx, the carry into t - 1 = G dA_t[s] left in <paramref name="grad"/>, d aLog's sum += G dA h_{t-1} Δ, and G B_t[s]
    /// and G dA h_{t-1} rate[s] added to <paramref name="gb"/> and <paramref name="gDecay"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Reverse<TOps, TV>(float* rate, float* previous, float* decay, float* dB, TV delta, TV deltaX, TV dy, float b, float c,
        ref TV grad, ref TV aLogSum, ref TV gb, ref TV gDecay) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV g = TOps.Fma(dy, TOps.Broadcast(c), grad);
        TOps.Store(dB, TOps.Fma(g, deltaX, TOps.Load(dB)));
        gb = TOps.Fma(g, TOps.Broadcast(b), gb);
        grad = TOps.Mul(g, TOps.Load(decay));
        TV qh = TOps.Mul(grad, TOps.Load(previous));
        gDecay = TOps.Fma(qh, TOps.Load(rate), gDecay);
        aLogSum = TOps.Fma(qh, delta, aLogSum);
    }

    /// <summary>dB|dC of row (b, t) = Σ_g of the groups' partial rows, in group order.</summary>
    readonly struct SumGroupsJob(Context context, float* dBC) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int width = 2 * context.N, groups = context.Groups.Count;
            for (int row = start; row < end; row++)
            {
                int b = row / context.Time, t = row % context.Time;
                float* target = dBC + (long)row * context.BCStride;
                float* first = context.PartialBC + ((long)b * groups * context.Time + t) * width;
                new ReadOnlySpan<float>(first, width).CopyTo(new Span<float>(target, width));
                for (int g = 1; g < groups; g++) VectorOps.AddTo<TOps, TV>(target, first + (long)g * context.Time * width, width);
            }
        }
    }
}
