using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// The activations a classic cell keeps between its forward and backward, time-major so that each
/// step's rows for all streams are one contiguous matrix: hidden [T+1, B, H] (h_0 .. h_T), cells
/// [T+1, B, H] (LSTM only), saved [T, B, 4H] (the gate activations). They grow on demand.
/// </summary>
internal sealed class ClassicRnnActivations
{
    internal float[] Hidden = [], Cells = [], Saved = [], Recurrent = [];
    internal float[] DRecurrent = [], DNext = [], DCell = [], Direct = [];

    /// <summary>Floats per token held by the forward (hidden, cells, saved) and the backward scratch (recurrent pre-activation gradients).</summary>
    public static long FloatsPerToken(RecurrentCell cell, int hidden) =>
        (long)hidden * (1 + (cell == RecurrentCell.Lstm ? 1 : 0) + 4 + cell.Gates());

    internal void Grow(RecurrentCell cell, int batch, int time, int hidden)
    {
        long rows = (long)batch * time, g = cell.Gates();
        Ensure(ref Hidden, (rows + batch) * hidden);
        if (cell == RecurrentCell.Lstm) Ensure(ref Cells, (rows + batch) * hidden);
        Ensure(ref Saved, rows * 4 * hidden);
        Ensure(ref Recurrent, batch * g * hidden);
    }

    internal void GrowBackward(RecurrentCell cell, int batch, int time, int hidden)
    {
        Ensure(ref DRecurrent, (long)batch * time * cell.Gates() * hidden);
        Ensure(ref DNext, (long)batch * hidden);
        Ensure(ref DCell, (long)batch * hidden);
        Ensure(ref Direct, (long)batch * hidden);
    }

    static void Ensure(ref float[] buffer, long length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }
}

/// <summary>
/// The recurrence of PyTorch's GRU and LSTM over [batch, time], trained by backpropagation through time.
/// The input pre-activations x_t W_ihᵀ + b_ih of all steps come in as one matrix (one GEMM, by the caller);
/// at each step the recurrent product h_{t-1} W_hhᵀ + b_hh is one GEMM over all streams with W_hh packed
/// once, then one fused pass applies the gates. Backward walks the steps in reverse; dL/dh_{t-1} through
/// W_hh is one GEMM per step, and dW_hh, db_hh are one GEMM and one column sum over all steps at the end.
/// <see cref="ClassicRnnReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class ClassicRnn
{
    /// <summary>
    /// h [B, T, H] from the input pre-activations xp [B, T, G·H], W_hh [G·H, H] (packed), b_hh [G·H] and the
    /// initial state h0 (and c0 for the LSTM) [B, H], or zeros when empty.
    /// </summary>
    /// <exception cref="ArgumentException">The cell is not GRU or LSTM, or a length does not match.</exception>
    internal static void Forward(RecurrentCell cell, ReadOnlySpan<float> xp, PackedMatrix wHh, ReadOnlySpan<float> bHh,
        ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> h, ClassicRnnActivations activations, int batch, int time, int hidden)
    {
        string op = $"ClassicRnn.Forward ({cell.DisplayName()})";
        Validate(op, cell, batch, time, hidden);
        int g = cell.Gates();
        Check.Length(op, "xp", xp.Length, batch, time, g * hidden);
        Check.Length(op, "h", h.Length, batch, time, hidden);
        Check.Length(op, "bHh", bHh.Length, g * hidden);
        if (wHh.N != g * hidden || wHh.K != hidden) throw new ArgumentException($"{op}: W_hh is [{wHh.N}, {wHh.K}], expected [{g * hidden}, {hidden}].");
        if (!h0.IsEmpty) Check.Length(op, "h0", h0.Length, batch, hidden);
        if (!c0.IsEmpty) Check.Length(op, "c0", c0.Length, batch, hidden);
        activations.Grow(cell, batch, time, hidden);
        int state = batch * hidden;
        var hidden0 = activations.Hidden.AsSpan(0, state);
        if (h0.IsEmpty) hidden0.Clear(); else h0.CopyTo(hidden0);
        if (cell == RecurrentCell.Lstm)
        {
            var cells0 = activations.Cells.AsSpan(0, state);
            if (c0.IsEmpty) cells0.Clear(); else c0.CopyTo(cells0);
        }
        var recurrent = activations.Recurrent.AsSpan(0, batch * g * hidden);
        fixed (float* pxp = xp) fixed (float* ph = h) fixed (float* hs = activations.Hidden) fixed (float* cs = activations.Cells)
        fixed (float* saved = activations.Saved) fixed (float* hp = activations.Recurrent)
        {
            for (int t = 0; t < time; t++)
            {
                wHh.Multiply(activations.Hidden.AsSpan(t * state, state), bHh, recurrent, batch);
                var step = new Step(pxp, hp, hs, cs, saved, ph, null, null, null, null, null, null, time, hidden, g, t, batch);
                Run(cell, step, forward: true);
            }
        }
    }

    /// <summary>
    /// From dL/dh [B, T, H], the gradients of the input pre-activations dxp [B, T, G·H] (for the caller's
    /// input GEMM), and dW_hh [G·H, H], db_hh [G·H] accumulated. Uses the activations of the last forward.
    /// </summary>
    /// <exception cref="ArgumentException">The cell is not GRU or LSTM, or a length does not match.</exception>
    internal static void Backward(RecurrentCell cell, ReadOnlySpan<float> wHh, ReadOnlySpan<float> dh, Span<float> dxp,
        Span<float> dWHh, Span<float> dBHh, ClassicRnnActivations activations, int batch, int time, int hidden)
    {
        string op = $"ClassicRnn.Backward ({cell.DisplayName()})";
        Validate(op, cell, batch, time, hidden);
        int g = cell.Gates(), state = batch * hidden;
        Check.Length(op, "wHh", wHh.Length, g * hidden, hidden);
        Check.Length(op, "dh", dh.Length, batch, time, hidden);
        Check.Length(op, "dxp", dxp.Length, batch, time, g * hidden);
        Check.Length(op, "dWHh", dWHh.Length, g * hidden, hidden);
        Check.Length(op, "dBHh", dBHh.Length, g * hidden);
        activations.GrowBackward(cell, batch, time, hidden);
        var transposed = PackedMatrix.Pack(wHh, hidden, g * hidden, transposed: true); // dh_{t-1} = dhp · W_hh
        var dNext = activations.DNext.AsSpan(0, state);
        dNext.Clear();
        activations.DCell.AsSpan(0, state).Clear();
        fixed (float* pdh = dh) fixed (float* pdxp = dxp) fixed (float* hs = activations.Hidden) fixed (float* cs = activations.Cells)
        fixed (float* saved = activations.Saved) fixed (float* dhp = activations.DRecurrent) fixed (float* pNext = activations.DNext)
        fixed (float* dc = activations.DCell) fixed (float* direct = activations.Direct)
        {
            for (int t = time - 1; t >= 0; t--)
            {
                var step = new Step(null, null, hs, cs, saved, null, pdh, pNext, dc, pdxp, dhp, direct, time, hidden, g, t, batch);
                Run(cell, step, forward: false);
                transposed.Multiply(activations.DRecurrent.AsSpan(t * batch * g * hidden, batch * g * hidden), default, dNext, batch);
                if (cell == RecurrentCell.Gru) VectorOps.AddTo(dNext, activations.Direct.AsSpan(0, state));
            }
        }
        // Σ_t dhp_tᵀ h_{t-1}: the recurrent pre-activation gradients of all steps against h_0 .. h_{T-1}.
        var dRecurrent = activations.DRecurrent.AsSpan(0, batch * time * g * hidden);
        Gemm.Multiply(dRecurrent, activations.Hidden.AsSpan(0, batch * time * hidden), dWHh, g * hidden, hidden, batch * time,
            transposeA: true, accumulate: true);
        fixed (float* pd = dRecurrent) fixed (float* db = dBHh) ColumnSums.Accumulate(pd, db, batch * time, g * hidden);
    }

    static void Validate(string op, RecurrentCell cell, int batch, int time, int hidden)
    {
        if (cell is not (RecurrentCell.Gru or RecurrentCell.Lstm)) throw new ArgumentException($"{op}: only GRU and LSTM run by backpropagation through time.");
        Check.Positive(op, ("batch", batch), ("time", time), ("hidden", hidden));
    }

    /// <summary>Pointers of one time step: the streams are the items, each a row of every tensor.</summary>
    readonly struct Step(float* xp, float* hp, float* hidden, float* cells, float* saved, float* h, float* dh, float* dNext,
        float* dc, float* dxp, float* dhp, float* direct, int time, int width, int gates, int t, int batch)
    {
        readonly float* xp = xp, hp = hp, hidden = hidden, cells = cells, saved = saved, h = h, dh = dh, dNext = dNext;
        readonly float* dc = dc, dxp = dxp, dhp = dhp, direct = direct;
        readonly int time = time, width = width, gates = gates, t = t, batch = batch;

        public int Batch => batch;
        public int Width => width;

        /// <summary>Forward of stream b's channels [j0, j1) in steps of the vector width.</summary>
        public void Forward<TGate, TOps, TV>(int b, int j0, int j1) where TGate : struct, IClassicGate where TOps : struct, ISimd<TV> where TV : struct
        {
            long row = (long)t * batch + b, state = (long)batch * width;
            float* hPrevious = hidden + row * width, hNext = hPrevious + state;
            float* cPrevious = cells == null ? null : cells + row * width, cNext = cells == null ? null : cPrevious + state;
            float* xRow = xp + ((long)b * time + t) * gates * width, hRow = hp + (long)b * gates * width, savedRow = saved + row * 4 * width;
            for (int j = j0; j < j1; j += TOps.Count)
                TGate.Forward<TOps, TV>(xRow, hRow, hPrevious, cPrevious, hNext, cNext, savedRow, width, j);
            new Span<float>(hNext + j0, j1 - j0).CopyTo(new Span<float>(h + ((long)b * time + t) * width + j0, j1 - j0));
        }

        /// <summary>Backward of stream b's channels [j0, j1) in steps of the vector width.</summary>
        public void Backward<TGate, TOps, TV>(int b, int j0, int j1) where TGate : struct, IClassicGate where TOps : struct, ISimd<TV> where TV : struct
        {
            long row = (long)t * batch + b, state = (long)batch * width;
            float* hPrevious = hidden + row * width;
            float* cPrevious = cells == null ? null : cells + row * width, cNow = cells == null ? null : cPrevious + state;
            float* dOut = dh + ((long)b * time + t) * width, dxRow = dxp + ((long)b * time + t) * gates * width;
            float* dhRow = dhp + row * gates * width, savedRow = saved + row * 4 * width;
            for (int j = j0; j < j1; j += TOps.Count)
                TGate.Backward<TOps, TV>(savedRow, hPrevious, cPrevious, cNow, dOut, dNext + (long)b * width, dc + (long)b * width,
                    dxRow, dhRow, direct + (long)b * width, width, j);
        }
    }

    static void Run(RecurrentCell cell, Step step, bool forward)
    {
        switch (cell)
        {
            case RecurrentCell.Gru: VectorJob.For(step.Batch, 40L * step.Width, new StreamJob<GruGate>(step, forward)); break;
            default: VectorJob.For(step.Batch, 60L * step.Width, new StreamJob<LstmGate>(step, forward)); break;
        }
    }

    readonly struct StreamJob<TGate>(Step step, bool forward) : IVectorJob where TGate : struct, IClassicGate
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int width = step.Width, vectorEnd = width - width % TOps.Count;
            for (int b = start; b < end; b++)
            {
                if (forward)
                {
                    step.Forward<TGate, TOps, TV>(b, 0, vectorEnd);
                    step.Forward<TGate, SimdScalar, float>(b, vectorEnd, width);
                }
                else
                {
                    step.Backward<TGate, TOps, TV>(b, 0, vectorEnd);
                    step.Backward<TGate, SimdScalar, float>(b, vectorEnd, width);
                }
            }
        }
    }
}
