using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Depthwise causal convolution over time (spec §3), x and y [batch, time, dim], weight [dim, 1, kernel]
/// (PyTorch's Conv1d with groups = dim), bias [dim]:
/// y[b, t, c] = bias[c] + Σ_{j&lt;kernel} weight[c, 0, j] · x[b, t - kernel + 1 + j, c], with x = 0 before t = 0.
/// The kernels run on the weight transposed to [kernel, dim] so that channels are contiguous.
/// <see cref="CausalConvReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class CausalConv
{
    [ThreadStatic] static float[]? weightByTap, weightGradientByTap, historyWindows;

    /// <summary>
    /// The convolution above. With <paramref name="history"/> [batch, K - 1, dim], the K - 1 inputs before x (oldest first:
    /// a stream read on from where it stopped), the taps before t = 0 read them instead of zeros, and the history is then
    /// replaced by the last K - 1 inputs of history followed by x. Every output sums its taps in the same order either way,
    /// so reading a text in pieces gives the same values, bit for bit, as reading it whole.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not match
    /// its shape, or y overlaps x.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        int batch, int time, int dim, int kernel, Span<float> history = default)
    {
        const string op = "CausalConv.Forward";
        Validate(op, x.Length, weight.Length, bias.Length, y.Length, batch, time, dim, kernel);
        float[] taps = Scratch.Get(ref weightByTap, kernel * dim);
        fixed (float* w = weight) fixed (float* wt = taps) Transpose(w, wt, dim, kernel);
        Convolve(op, x, taps.AsSpan(0, kernel * dim), bias, y, batch, time, dim, kernel, history);
    }

    /// <summary>
    /// <see cref="Forward"/> from the weight laid out by tap (<see cref="ByTap"/>): a caller that convolves one step at a
    /// time with fixed weights (generation) lays them out once.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Forward"/>'s.</exception>
    public static void ForwardByTap(ReadOnlySpan<float> x, ReadOnlySpan<float> byTap, ReadOnlySpan<float> bias, Span<float> y,
        int batch, int time, int dim, int kernel, Span<float> history = default)
    {
        const string op = "CausalConv.ForwardByTap";
        Validate(op, x.Length, byTap.Length, bias.Length, y.Length, batch, time, dim, kernel);
        Convolve(op, x, byTap, bias, y, batch, time, dim, kernel, history);
    }

    /// <summary>The forward of both entry points, their sizes checked but for the history's.</summary>
    static void Convolve(string op, ReadOnlySpan<float> x, ReadOnlySpan<float> byTap, ReadOnlySpan<float> bias, Span<float> y,
        int batch, int time, int dim, int kernel, Span<float> history)
    {
        Check.Disjoint(op, "x", x, "y", y);
        int past = kernel - 1, lead = Math.Min(time, past), windowRows = past + lead;
        if (!history.IsEmpty) Check.Length(op, "history", history.Length, batch, past, dim);
        // Each sequence's window: its history, then its first K - 1 inputs, so that the taps of those rows read one array.
        float[] windows = history.IsEmpty ? [] : Scratch.Get(ref historyWindows, batch * windowRows * dim);
        for (int b = 0; b < batch && !history.IsEmpty; b++)
        {
            var window = windows.AsSpan(b * windowRows * dim, windowRows * dim);
            history.Slice(b * past * dim, past * dim).CopyTo(window);
            x.Slice(b * time * dim, lead * dim).CopyTo(window[(past * dim)..]);
        }
        fixed (float* px = x) fixed (float* wt = byTap) fixed (float* b = bias) fixed (float* py = y) fixed (float* pw = windows)
            VectorJob.For(batch * time, (long)dim * kernel, new ForwardJob(py, px, history.IsEmpty ? null : pw, wt, b, time, dim, kernel));
        if (history.IsEmpty) return;
        // The new history: the last K - 1 rows of [history; x], the window's last rows or x's.
        for (int b = 0; b < batch; b++)
        {
            var last = time > past ? x.Slice((b * time + time - past) * dim, past * dim) : windows.AsSpan((b * windowRows + lead) * dim, past * dim);
            last.CopyTo(history.Slice(b * past * dim, past * dim));
        }
    }

    /// <summary>
    /// One step of one stream at channels [<paramref name="first"/>, <paramref name="end"/>) only: y[c] = bias[c] +
    /// Σ_j byTap[j, c] · (history row j, or x for j = K - 1), then those channels of the history move on by x: a thread's
    /// share of a step that a team job divides itself. Each channel's value is <see cref="ForwardByTap"/>'s with the
    /// history, bit for bit. x, y [dim], byTap [K, dim], bias [dim] and history [K - 1, dim] are whole.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not match its shape, or the
    /// channels are not a range of them.</exception>
    public static void StepChannels(ReadOnlySpan<float> x, ReadOnlySpan<float> byTap, ReadOnlySpan<float> bias, Span<float> y,
        int dim, int kernel, Span<float> history, int first, int end)
    {
        const string op = "CausalConv.StepChannels";
        Validate(op, x.Length, byTap.Length, bias.Length, y.Length, 1, 1, dim, kernel);
        Check.Length(op, "history", history.Length, 1, kernel - 1, dim);
        if (first < 0 || end < first || end > dim) throw new ArgumentException($"{op}: channels [{first}, {end}) are not a range of the {dim}.");
        int width = end - first, past = kernel - 1;
        if (width == 0) return;
        // The share's window [K, width]: its channels of the history's rows, then of x.
        float[] window = Scratch.Get(ref historyWindows, kernel * width);
        for (int j = 0; j < past; j++) history.Slice(j * dim + first, width).CopyTo(window.AsSpan(j * width, width));
        x.Slice(first, width).CopyTo(window.AsSpan(past * width, width));
        using var _ = OperationProfile.Enabled ? OperationProfile.Measure(OperationProfile.NameOf<StepJob>.Value) : default;
        fixed (float* w = window) fixed (float* wt = byTap) fixed (float* b = bias) fixed (float* py = y)
            VectorJob.Share(0, 1, new StepJob(py + first, w + past * width, wt + first, b + first, dim, kernel, width));
        for (int j = 0; j < past; j++) window.AsSpan((j + 1) * width, width).CopyTo(history.Slice(j * dim + first, width));
    }

    /// <summary>The one row of <see cref="StepChannels"/>: y = bias + Σ_j byTap[j] · window[j] over <paramref name="width"/> channels.</summary>
    readonly struct StepJob(float* y, float* last, float* byTap, float* bias, int dim, int kernel, int width) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct =>
            Taps<TOps, TV>(y, last, byTap, bias, false, 0, kernel, -width, dim, width);
    }

    /// <summary>byTap[j, c] = weight[c, 0, j]: the weight [dim, 1, kernel] laid out by tap, channels contiguous, as the kernels read it.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive or a buffer's length does not match its shape.</exception>
    public static void ByTap(ReadOnlySpan<float> weight, Span<float> byTap, int dim, int kernel)
    {
        const string op = "CausalConv.ByTap";
        Check.Positive(op, ("dim", dim), ("kernel", kernel));
        Check.Length(op, "weight", weight.Length, dim, 1, kernel);
        Check.Length(op, "byTap", byTap.Length, kernel, dim);
        fixed (float* w = weight) fixed (float* wt = byTap) Transpose(w, wt, dim, kernel);
    }

    /// <summary>
    /// Gradients: dx[b, s, c] (=|+=) Σ_j weight[c, 0, j] · dy[b, s + kernel - 1 - j, c] (terms past the
    /// end are 0; skipped when dx is empty), dWeight[c, 0, j] += Σ_{b,t} dy[b, t, c] · x[b, t - kernel + 1 + j, c],
    /// dBias[c] += Σ_{b,t} dy[b, t, c]. Threads take channel ranges for the two reductions, so every
    /// sum is formed in the same order for any thread count.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not match
    /// its shape, or dx overlaps dy.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, int batch, int time, int dim, int kernel, bool accumulateDx = false)
    {
        const string op = "CausalConv.Backward";
        ValidateBackward(op, x.Length, weight.Length, dy.Length, dx.Length, dWeight.Length, dBias.Length, batch, time, dim, kernel);
        Check.Disjoint(op, "dy", dy, "dx", dx);
        float[] taps = Scratch.Get(ref weightByTap, kernel * dim), gradientTaps = Scratch.Get(ref weightGradientByTap, kernel * dim);
        fixed (float* px = x) fixed (float* w = weight) fixed (float* wt = taps) fixed (float* g = dy) fixed (float* d = dx)
        fixed (float* dw = dWeight) fixed (float* dwt = gradientTaps) fixed (float* db = dBias)
        {
            if (!dx.IsEmpty) Transpose(w, wt, dim, kernel);
            VectorJob.For(dim, (long)batch * time * (dx.IsEmpty ? kernel + 1 : 2 * kernel + 1),
                new BackwardJob(px, g, dx.IsEmpty ? null : d, wt, accumulateDx, dwt, dw, db, batch, time, dim, kernel));
        }
    }

    internal static void Validate(string op, int x, int weight, int bias, int y, int batch, int time, int dim, int kernel)
    {
        Check.Positive(op, ("batch", batch), ("time", time), ("dim", dim), ("kernel", kernel));
        Check.Length(op, "x", x, batch, time, dim);
        Check.Length(op, "weight", weight, dim, 1, kernel);
        Check.Length(op, "bias", bias, dim);
        Check.Length(op, "y", y, batch, time, dim);
    }

    internal static void ValidateBackward(string op, int x, int weight, int dy, int dx, int dWeight, int dBias,
        int batch, int time, int dim, int kernel)
    {
        Check.Positive(op, ("batch", batch), ("time", time), ("dim", dim), ("kernel", kernel));
        Check.Length(op, "x", x, batch, time, dim);
        Check.Length(op, "weight", weight, dim, 1, kernel);
        Check.Length(op, "dy", dy, batch, time, dim);
        if (dx != 0) Check.Length(op, "dx", dx, batch, time, dim);
        Check.Length(op, "dWeight", dWeight, dim, 1, kernel);
        Check.Length(op, "dBias", dBias, dim);
    }

    /// <summary>byTap[j, c] = weight[c, 0, j].</summary>
    static void Transpose(float* weight, float* byTap, int dim, int kernel)
    {
        for (int c = 0; c < dim; c++)
        for (int j = 0; j < kernel; j++)
            byTap[j * dim + c] = weight[c * kernel + j];
    }

    /// <summary>
    /// One row (b, t) per item: y[row] = bias + Σ_j byTap[j] · x[row - (kernel - 1 - j)], the taps before t = 0 skipped, or,
    /// with <paramref name="windows"/> [batch, K - 1 + min(time, K - 1), dim] (each sequence's history and first inputs), the
    /// first K - 1 rows of each sequence read there, every tap.
    /// </summary>
    readonly struct ForwardJob(float* y, float* x, float* windows, float* byTap, float* bias, int time, int dim, int kernel) : IVectorJob
    {
        public long BytesMoved(int count) => 8L * count * dim; // each row read once, the taps from cache

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int past = kernel - 1, windowRows = past + Math.Min(time, past);
            for (int n = start; n < end; n++)
            {
                long offset = (long)n * dim;
                int t = n % time;
                if (windows != null && t < past)
                    Taps<TOps, TV>(y + offset, windows + ((long)(n / time) * windowRows + past + t) * dim, byTap, bias, false, 0, kernel, -dim, dim, dim);
                else Taps<TOps, TV>(y + offset, x + offset, byTap, bias, false, Math.Max(0, past - t), kernel, -dim, dim, dim);
            }
        }
    }

    /// <summary>
    /// dst[0..n) (=|+=) bias + Σ_{j ≥ firstTap} byTap[j] · src[(kernel - 1 - j) · step] over n channels (byTap's rows dim apart):
    /// the forward reads x at earlier steps (step -dim), the backward dy at later ones (step +dim).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Taps<TOps, TV>(float* dst, float* src, float* byTap, float* bias, bool accumulate, int firstTap, int kernel, long step,
        int dim, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        int c = 0;
        for (; c <= n - TOps.Count; c += TOps.Count)
        {
            TV acc = bias != null ? TOps.Load(bias + c) : accumulate ? TOps.Load(dst + c) : TOps.Zero;
            for (int j = firstTap; j < kernel; j++)
                acc = TOps.Fma(TOps.Load(byTap + (long)j * dim + c), TOps.Load(src + (kernel - 1 - j) * step + c), acc);
            TOps.Store(dst + c, acc);
        }
        if (c < n)
            Taps<SimdScalar, float>(dst + c, src + c, byTap + c, bias == null ? null : bias + c, accumulate, firstTap, kernel, step, dim, n - c);
    }

    /// <summary>
    /// One channel per item: dx at those channels (the taps read forward in time, when dx is given),
    /// gradientByTap[j, c] = Σ_{b,t} dy · x at tap j, then dWeight[c, 0, j] += it, and dBias[c] += Σ_{b,t} dy.
    /// The rows are taken in tiles of <see cref="TileRows"/> (in L1), and within a tile a channel vector at a time, so
    /// that each sum stays in a register over the tile instead of going to memory at every row; every sum still adds
    /// its rows in order, so its order is fixed.
    /// </summary>
    readonly struct BackwardJob(float* x, float* dy, float* dx, float* weightByTap, bool accumulateDx, float* gradientByTap, float* dWeight,
        float* dBias, int batch, int time, int dim, int kernel) : IVectorJob
    {
        const int TileRows = 64;

        public long BytesMoved(int count) => (dx == null ? 8L : accumulateDx ? 16L : 12L) * batch * time * count; // x, dy (and dx), once

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int j = 0; j < kernel; j++) new Span<float>(gradientByTap + (long)j * dim + start, end - start).Clear();
            for (int b = 0; b < batch; b++)
            for (int t0 = 0; t0 < time; t0 += TileRows)
            {
                int t1 = Math.Min(time, t0 + TileRows);
                long row = (long)b * time;
                int c = start;
                for (; c <= end - TOps.Count; c += TOps.Count) Column<TOps, TV>(row, t0, t1, c);
                for (; c < end; c++) Column<SimdScalar, float>(row, t0, t1, c);
            }
            for (int c = start; c < end; c++)
            for (int j = 0; j < kernel; j++)
                dWeight[c * kernel + j] += gradientByTap[(long)j * dim + c];
        }

        /// <summary>Steps t0..t1 of the sequence whose first row is <paramref name="row"/>, at channels c..c + TOps.Count.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Column<TOps, TV>(long row, int t0, int t1, int c) where TOps : struct, ISimd<TV> where TV : struct
        {
            float* g = dy + row * dim + c, input = x + row * dim + c;
            TV sum = TOps.Load(dBias + c);
            for (int t = t0; t < t1; t++) sum = TOps.Add(sum, TOps.Load(g + (long)t * dim));
            TOps.Store(dBias + c, sum);
            for (int j = 0; j < kernel; j++)
            {
                int lag = kernel - 1 - j; // tap j reads x at t - lag
                float* acc = gradientByTap + (long)j * dim + c;
                TV tap = TOps.Load(acc);
                for (int t = Math.Max(t0, lag); t < t1; t++)
                    tap = TOps.Fma(TOps.Load(g + (long)t * dim), TOps.Load(input + (long)(t - lag) * dim), tap);
                TOps.Store(acc, tap);
            }
            if (dx == null) return;
            float* d = dx + row * dim + c;
            for (int t = t0; t < t1; t++)
                Taps<TOps, TV>(d + (long)t * dim, g + (long)t * dim, weightByTap + c, null, accumulateDx, Math.Max(0, t + kernel - time), kernel, dim,
                    dim, TOps.Count);
        }
    }
}
