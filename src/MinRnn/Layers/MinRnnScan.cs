using System.Runtime.Intrinsics;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// The minGRU / minLSTM recurrence over pre-activations [batch, time, gates x hidden] (the output of
/// the cell's linear map; groups k,u or p,k,u of width hidden), giving h [batch, time, hidden], with
/// an optional initial state h0 [batch, hidden]. Gate math, g / log g and the scan are fused: each
/// pre-activation is read once forward and once backward, each h written once.
/// <para>Forward runs either algorithm of spec §2. Backward is exact for both (they compute the same
/// function) and walks the linear recurrence in reverse:
/// G_t = dh_t + a_{t+1} G_{t+1}, dz_t = G_t (g(u_t) - h_{t-1}), dx_t = dz_t z_t (1 - z_t),
/// du_t = G_t z_t g'(u_t), dh_0 = a_1 G_1.</para>
/// <see cref="MinRnnScanReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class MinRnnScan
{
    /// <summary>Runs the cell forward: h[b, t] from pre-activations and h0 (empty span: h0 = 0).</summary>
    /// <exception cref="ArgumentException">Shapes do not match, a dimension is not positive, the
    /// pre-activations hold NaN or infinity, or h0 is negative for the log-space scan.</exception>
    public static void Forward(RecurrentCell cell, ScanAlgorithm algorithm, ReadOnlySpan<float> preactivations,
        ReadOnlySpan<float> h0, Span<float> h, int batch, int time, int hidden)
    {
        string op = ForwardNames[(int)cell * 2 + (algorithm == ScanAlgorithm.LogSpace ? 1 : 0)];
        Validate(op, cell, preactivations.Length, h0.Length, batch, time, hidden);
        Check.Length(op, "h", h.Length, batch, time, hidden);
        if (algorithm == ScanAlgorithm.LogSpace)
            foreach (float v in h0)
                if (!(v >= 0f)) throw new ArgumentException($"{op}: h0 must be >= 0 for the log-space scan (got {v}); the state is positive in g-space.");
        fixed (float* p = preactivations) fixed (float* s = h0) fixed (float* o = h)
        {
            var job = new Job(p, h0.IsEmpty ? null : s, o, null, batch, time, hidden, cell.Gates());
            bool finite = cell == RecurrentCell.MinGru ? Dispatch<MinGruGate>(job, algorithm) : Dispatch<MinLstmGate>(job, algorithm);
            if (!finite) throw new ArgumentException($"{op}: pre-activations [{batch}, {time}, {cell.Gates()}x{hidden}] contain NaN or infinity.");
        }
    }

    /// <summary>
    /// Gradients of the cell: dL/d(pre-activations) from dL/dh, given the forward's inputs and output h.
    /// dh0 receives dL/dh0 when not empty (then h0 must be given too, or be zero-length for h0 = 0).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes do not match or dh holds NaN or infinity.</exception>
    public static void Backward(RecurrentCell cell, ReadOnlySpan<float> preactivations, ReadOnlySpan<float> h0,
        ReadOnlySpan<float> h, ReadOnlySpan<float> dh, Span<float> dPreactivations, Span<float> dh0, int batch, int time, int hidden)
    {
        string op = BackwardNames[(int)cell];
        Validate(op, cell, preactivations.Length, h0.Length, batch, time, hidden);
        Check.Length(op, "h", h.Length, batch, time, hidden);
        Check.Length(op, "dh", dh.Length, batch, time, hidden);
        Check.Length(op, "dPreactivations", dPreactivations.Length, batch, time, cell.Gates() * hidden);
        if (!dh0.IsEmpty) Check.Length(op, "dh0", dh0.Length, batch, hidden);
        fixed (float* p = preactivations) fixed (float* s = h0) fixed (float* o = h) fixed (float* g = dh)
        fixed (float* dp = dPreactivations) fixed (float* ds = dh0)
        {
            var job = new Job(p, h0.IsEmpty ? null : s, o, g, batch, time, hidden, cell.Gates(), dp, dh0.IsEmpty ? null : ds);
            bool finite = cell == RecurrentCell.MinGru ? Dispatch<MinGruGate>(job, null) : Dispatch<MinLstmGate>(job, null);
            if (!finite) throw new ArgumentException($"{op}: dh [{batch}, {time}, {hidden}] contains NaN or infinity.");
        }
    }

    // Operation names for messages, made once: generation calls the scan for every character.
    static readonly string[] ForwardNames = [.. Enum.GetValues<RecurrentCell>().SelectMany(c =>
        new[] { $"MinRnnScan.Forward ({c.DisplayName()}, {ScanAlgorithm.Sequential})", $"MinRnnScan.Forward ({c.DisplayName()}, {ScanAlgorithm.LogSpace})" })];
    static readonly string[] BackwardNames = [.. Enum.GetValues<RecurrentCell>().Select(c => $"MinRnnScan.Backward ({c.DisplayName()})")];

    static void Validate(string op, RecurrentCell cell, int preactivations, int h0, int batch, int time, int hidden)
    {
        if (!cell.IsMinimal()) throw new ArgumentException($"{op}: the scan runs the minimal cells only, not {cell.DisplayName()}.");
        Check.Positive(op, ("batch", batch), ("time", time), ("hidden", hidden));
        Check.Length(op, "preactivations", preactivations, batch, time, cell.Gates() * hidden);
        if (h0 != 0) Check.Length(op, "h0", h0, batch, hidden);
    }

    readonly struct Job(float* preactivations, float* h0, float* h, float* dh, int batch, int time, int hidden, int gates,
        float* dPreactivations = null, float* dh0 = null)
    {
        public readonly float* Pre = preactivations, H0 = h0, H = h, DH = dh, DPre = dPreactivations, DH0 = dh0;
        public readonly int Batch = batch, Time = time, Hidden = hidden, Gates = gates;

        /// <summary>Offset of row (b, t) in a [batch, time, width] tensor.</summary>
        public long Row(int b, int t, int width) => ((long)b * Time + t) * width;
    }

    /// <summary>Runs forward (algorithm given) or backward (null) over all batch rows; false if a non-finite value was seen.</summary>
    static bool Dispatch<TGate>(Job job, ScanAlgorithm? algorithm) where TGate : struct, IMinRnnGate => Simd.Width switch
    {
        SimdWidth.Bits512 => Rows<TGate, Simd512, Vector512<float>>(job, algorithm),
        SimdWidth.Bits256 => Rows<TGate, Simd256, Vector256<float>>(job, algorithm),
        SimdWidth.Bits128 => Rows<TGate, Simd128, Vector128<float>>(job, algorithm),
        _ => Rows<TGate, SimdScalar, float>(job, algorithm),
    };

    [ThreadStatic] static AlignedBuffer? rowScratch;
    const long SerialElements = 1L << 15;

    static bool Rows<TGate, TOps, TV>(Job job, ScanAlgorithm? algorithm)
        where TGate : struct, IMinRnnGate where TOps : struct, ISimd<TV> where TV : struct
    {
        using var _ = OperationProfile.Enabled
            ? OperationProfile.Measure($"MinRnnScan.{typeof(TGate).Name} {(algorithm is { } a ? $"forward, {a}" : "backward")}",
                bytes: 4.0 * job.Batch * job.Time * job.Hidden * (algorithm is null ? 2 * job.Gates + 2 : job.Gates + 1)) // pre (h, dh, dPre) in, h out
            : default;
        int nonFinite = 0;
        int vectorEnd = job.Hidden - job.Hidden % TOps.Count;
        Action<int, int> rows = (b0, b1) =>
        {
            // The sequential forward keeps its state in h itself; the others need a row of scratch.
            float* s = algorithm == ScanAlgorithm.Sequential ? null : (rowScratch ??= new AlignedBuffer()).Get(job.Hidden);
            bool ok = true;
            for (int b = b0; b < b1; b++)
            {
                ok &= Row<TGate, TOps, TV>(job, algorithm, b, 0, vectorEnd, s);
                ok &= Row<TGate, SimdScalar, float>(job, algorithm, b, vectorEnd, job.Hidden, s);
            }
            if (!ok) Interlocked.Exchange(ref nonFinite, 1);
        };
        // A few short rows (a generation step) cost less than waking the team.
        if ((long)job.Batch * job.Time * job.Hidden < SerialElements) rows(0, job.Batch);
        else Parallelism.For(job.Batch, rows);
        return nonFinite == 0;
    }

    static bool Row<TGate, TOps, TV>(Job job, ScanAlgorithm? algorithm, int b, int c0, int c1, float* state)
        where TGate : struct, IMinRnnGate where TOps : struct, ISimd<TV> where TV : struct => algorithm switch
    {
        ScanAlgorithm.Sequential => SequentialForward<TGate, TOps, TV>(job, b, c0, c1),
        ScanAlgorithm.LogSpace => LogSpaceForward<TGate, TOps, TV>(job, b, c0, c1, state),
        _ => SequentialBackward<TGate, TOps, TV>(job, b, c0, c1, state),
    };

    /// <summary>h_t = a_t h_{t-1} + z_t g(u_t), with a = 1 - z and z computed separately (see SigmoidPair).</summary>
    static bool SequentialForward<TGate, TOps, TV>(Job job, int b, int c0, int c1)
        where TGate : struct, IMinRnnGate where TOps : struct, ISimd<TV> where TV : struct
    {
        int hidden = job.Hidden, w = TOps.Count;
        bool nonFinite = false;
        float* previous = job.H0 == null ? null : job.H0 + (long)b * hidden;
        for (int t = 0; t < job.Time; t++)
        {
            float* row = job.Pre + job.Row(b, t, job.Gates * hidden);
            float* u = row + (job.Gates - 1) * hidden;
            float* output = job.H + job.Row(b, t, hidden);
            for (int c = c0; c < c1; c += w)
            {
                TV uc = TOps.Load(u + c);
                nonFinite |= TOps.AnyNonFinite(TOps.Add(TGate.InputSum<TOps, TV>(row + c, hidden), uc));
                TGate.Gate<TOps, TV>(row + c, hidden, out TV z, out TV a);
                TV hPrevious = previous == null ? TOps.Zero : TOps.Load(previous + c);
                TOps.Store(output + c, TOps.Fma(a, hPrevious, TOps.Mul(z, SimdMath.G<TOps, TV>(uc))));
            }
            previous = output;
        }
        return !nonFinite;
    }

    /// <summary>
    /// Spec §2's log-space scan, log h_t = a*_t + logcumsumexp_s(log b_s - a*_s), kept as one running
    /// value per channel: l_t = log h_t = logaddexp(l_{t-1} + log a_t, log b_t), l_0 = log h0 (or -inf).
    /// Folding the prefix sum a*_t into the accumulator is the same sum, but it avoids exp(a* + lse),
    /// whose two terms grow like T and cancel catastrophically in float32 at long sequences.
    /// </summary>
    static bool LogSpaceForward<TGate, TOps, TV>(Job job, int b, int c0, int c1, float* logH)
        where TGate : struct, IMinRnnGate where TOps : struct, ISimd<TV> where TV : struct
    {
        int hidden = job.Hidden, w = TOps.Count;
        bool nonFinite = false;
        for (int c = c0; c < c1; c++)
            logH[c] = job.H0 == null ? float.NegativeInfinity : MathF.Log(job.H0[(long)b * hidden + c]);
        for (int t = 0; t < job.Time; t++)
        {
            float* row = job.Pre + job.Row(b, t, job.Gates * hidden);
            float* u = row + (job.Gates - 1) * hidden;
            float* output = job.H + job.Row(b, t, hidden);
            for (int c = c0; c < c1; c += w)
            {
                TV x = TGate.Logit<TOps, TV>(row + c, hidden), uc = TOps.Load(u + c);
                nonFinite |= TOps.AnyNonFinite(TOps.Add(x, uc));
                TV softplus = SimdMath.Softplus<TOps, TV>(x);                    // log a = -softplus(x)
                TV logB = TOps.Add(TOps.Sub(x, softplus), SimdMath.LogG<TOps, TV>(uc)); // log z = x - softplus(x)
                TV l = SimdMath.LogAddExp<TOps, TV>(TOps.Sub(TOps.Load(logH + c), softplus), logB);
                TOps.Store(logH + c, l);
                TOps.Store(output + c, TOps.Exp(l));
            }
        }
        return !nonFinite;
    }

    /// <summary>Reverse walk of h_t = a_t h_{t-1} + z_t g(u_t); <paramref name="carry"/> holds a_{t+1} G_{t+1}.</summary>
    static bool SequentialBackward<TGate, TOps, TV>(Job job, int b, int c0, int c1, float* carry)
        where TGate : struct, IMinRnnGate where TOps : struct, ISimd<TV> where TV : struct
    {
        int hidden = job.Hidden, w = TOps.Count;
        bool nonFinite = false;
        for (int c = c0; c < c1; c++) carry[c] = 0f;
        for (int t = job.Time - 1; t >= 0; t--)
        {
            long rowOffset = job.Row(b, t, job.Gates * hidden), hOffset = job.Row(b, t, hidden);
            float* row = job.Pre + rowOffset, gradRow = job.DPre + rowOffset;
            float* u = row + (job.Gates - 1) * hidden, du = gradRow + (job.Gates - 1) * hidden;
            float* previous = t > 0 ? job.H + hOffset - hidden : job.H0 == null ? null : job.H0 + (long)b * hidden;
            float* dh = job.DH + hOffset;
            for (int c = c0; c < c1; c += w)
            {
                TV uc = TOps.Load(u + c);
                TV g = SimdMath.G<TOps, TV>(uc);
                TV hPrevious = previous == null ? TOps.Zero : TOps.Load(previous + c);
                TV grad = TOps.Add(TOps.Load(dh + c), TOps.Load(carry + c));
                nonFinite |= TOps.AnyNonFinite(grad);
                TGate.GateBackward<TOps, TV>(row + c, gradRow + c, hidden, TOps.Mul(grad, TOps.Sub(g, hPrevious)), out TV z, out TV a);
                TV gz = TOps.Mul(grad, z);
                TOps.Store(du + c, TOps.Mul(gz, SimdMath.GDerivative<TOps, TV>(uc, g)));
                TOps.Store(carry + c, TOps.Mul(a, grad));
            }
        }
        if (job.DH0 != null)
            for (int c = c0; c < c1; c++) job.DH0[(long)b * hidden + c] = carry[c];
        return !nonFinite;
    }
}
