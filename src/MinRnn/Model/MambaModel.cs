using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// mamba-minimal's Mamba (spec §6; state-spaces/mamba's simple block). Block i maps x to x + drop(mixer(rmsnorm(x))), the
/// mixer being, with d_inner = int(E·D), dt_rank R = ceil(D/16) and state size N:
/// <code>
///   x' | z = in_proj(n)                           D → 2·d_inner, no bias
///   u = silu(conv1d(x'))                          depthwise causal, kernel K, with bias
///   Δr | B | C = x_proj(u)                        d_inner → R + 2N, no bias
///   y = selective_scan(u, dt_proj(Δr), A_log, B, C, D) · silu(z)     Δ = softplus(dt_proj(Δr)), A = -exp(A_log)
///   out_proj(y)                                   d_inner → D, no bias
/// </code>
/// and the head reads rmsnorm_f(x_L) through the token embedding itself (tied). The scan, its softplus and the gate are one
/// fused kernel (<see cref="SelectiveScan"/>). Each block keeps what its backward needs (in_proj's x|z, the conv output,
/// x_proj's Δr|B|C, dt_proj's output, the scan's output and its per-chunk states); the conv's SiLU is recomputed in the
/// backward. With a <see cref="RecurrentState"/> each block carries its conv window and its scan state.
/// </summary>
internal sealed class MambaModel : LanguageModel
{
    sealed class Block
    {
        public required Parameter Norm, InProj, ConvWeight, ConvBias, XProj, DtProj, DtBias, ALog, D, OutProj;
        // Activations of the last forward: the normalised input, in_proj's x|z, the conv output (before its SiLU), x_proj's
        // Δr|B|C, Δr again contiguous (dt_proj's input), dt_proj's output, the scan's gated output, the scan's chunk states
        // (training only) and the block's output.
        public float[] Normed = [], XZ = [], Conv = [], Projected = [], DtInput = [], Dt = [], Scanned = [], ChunkStates = [], Output = [];
        // A_log tabulated for the scan, and the step weights it was tabulated for (null: recomputed at every forward).
        public float[] Rates = [];
        public object? RatesFor;
    }

    readonly Block[] blocks;
    readonly Parameter normF;
    // Shared by the blocks: the head input, a [rows, D] branch, the conv's input (in_proj's x half, contiguous) and the conv
    // output's SiLU; in the backward the gradients of the scan output, of u, of x|z, of Δr|B|C, of Δr and of dt_proj's output.
    float[] headInput = [], branch = [], convInput = [], activated = [], dScanned = [], dActivated = [], dXZ = [], dProjected = [], dDtInput = [], dDt = [];
    int batch, time;

    public MambaModel(ModelConfig config) : base(config)
    {
        int d = config.Dim, inner = config.Hidden, r = config.DtRank, n = config.State, k = config.ConvKernel;
        blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            blocks[i] = new Block
            {
                Norm = AddParameter(p + "norm.weight", [d], decay: false),
                InProj = AddParameter(p + "mixer.in_proj.weight", [2 * inner, d], decay: true),
                ConvWeight = AddParameter(p + "mixer.conv1d.weight", [inner, 1, k], decay: true),
                ConvBias = AddParameter(p + "mixer.conv1d.bias", [inner], decay: false),
                XProj = AddParameter(p + "mixer.x_proj.weight", [r + 2 * n, inner], decay: true),
                DtProj = AddParameter(p + "mixer.dt_proj.weight", [inner, r], decay: true),
                DtBias = AddParameter(p + "mixer.dt_proj.bias", [inner], decay: false),
                // state-spaces/mamba keeps A_log and D out of weight decay (_no_weight_decay).
                ALog = AddParameter(p + "mixer.A_log", [inner, n], decay: false),
                D = AddParameter(p + "mixer.D", [inner], decay: false),
                OutProj = AddParameter(p + "mixer.out_proj.weight", [d, inner], decay: true),
            };
        }
        normF = AddParameter("norm_f.weight", [d], decay: false);
        TieHead("lm_head.weight");
    }

    /// <summary>
    /// state-spaces/mamba's initialisation (mamba-minimal, which only loads trained weights, has none of its own):
    /// embedding ~ N(0, 0.02); in_proj, x_proj, conv1d and dt_proj.weight PyTorch's default U(±1/sqrt(fan_in)) (for
    /// dt_proj that is Mamba's dt_rank^-0.5); out_proj the same divided by sqrt(L) (rescale_prenorm_residual);
    /// dt_proj.bias = softplus⁻¹(Δ) = log(e^Δ - 1) for Δ = exp(U(log 0.001, log 0.1)) floored at 1e-4, so that Δ starts
    /// log-uniform in [0.001, 0.1]; A_log[c, n] = log(n + 1) (S4D-real, A = -(1..N)); D = 1; RMSNorm weights 1.
    /// </summary>
    public override void Initialize(ulong seed)
    {
        base.Initialize(seed);
        var order = Parameters.ToList();
        ulong Stream(Parameter p) => seed * 1_000_003 + (ulong)order.IndexOf(p); // each tensor's own stream, as the base draws it
        var embedding = Parameters[0];
        CounterRandom.FillNormal(embedding.Value, Stream(embedding), 0f, 0.02f);
        float residual = 1f / MathF.Sqrt(Config.Layers);
        foreach (var b in blocks)
        {
            for (int i = 0; i < b.OutProj.Value.Length; i++) b.OutProj.Value[i] *= residual;
            var bias = b.DtBias.Value;
            CounterRandom.FillUniform(bias, Stream(b.DtBias), MathF.Log(1e-3f), MathF.Log(1e-1f));
            for (int i = 0; i < bias.Length; i++)
            {
                double dt = Math.Max(Math.Exp(bias[i]), 1e-4);
                bias[i] = (float)Math.Log(Math.Exp(dt) - 1);
            }
            int n = Config.State;
            for (int i = 0; i < b.ALog.Value.Length; i++) b.ALog.Value[i] = MathF.Log(i % n + 1);
            Array.Fill(b.D.Value, 1f);
        }
    }

    /// <summary>A_log is read element by element by the scan: no products to count or to pack.</summary>
    protected override bool IsTable(Parameter p) => p.Name.EndsWith(".mixer.A_log", StringComparison.Ordinal) || base.IsTable(p);

    /// <summary>
    /// Per layer and token, the scan's multiply-adds: 3 per channel and state forward (dA·h, Δx·B, C·h) and twice that
    /// backward, 2 FLOPs each: 18·d_inner·N (its exps and the backward's recompute of each chunk are not counted).
    /// </summary>
    public override long MixerFlopsPerToken(int context) => 18L * Config.Layers * Config.Hidden * Config.State;

    // Per block: normed, x|z, conv, Δr|B|C, Δr, dt, scanned, output, and the chunk states (N·d_inner every ChunkLength
    // steps); then the head input, the branch, the conv input, its SiLU, and in the backward dScanned, du, d(x|z),
    // d(Δr|B|C), dΔr and d dt.
    protected override long BodyFloatsPerRow()
    {
        long d = Config.Dim, inner = Config.Hidden, r = Config.DtRank, n = Config.State;
        long chunkStates = (n * inner + SelectiveScan.ChunkLength - 1) / SelectiveScan.ChunkLength;
        long block = d + 2 * inner + inner + (r + 2 * n) + r + inner + inner + d + chunkStates;
        return Config.Layers * block + 2 * d + 2 * inner + inner + inner + 2 * inner + (r + 2 * n) + r + inner;
    }

    protected override ReadOnlySpan<float> HeadInput => Rows(headInput, Config.Dim);

    protected override ReadOnlySpan<float> ForwardBody(Span<float> x, int batch, int time, RecurrentState? state)
    {
        this.batch = batch;
        this.time = time;
        if (state is not null && batch == 1 && time == 1 && Stepping is { OneRowOnTeam: true } && Parallelism.Threads > 1 && !WorkerTeam.InsideJob)
            return StepOnTeam(x, state);
        int d = Config.Dim, inner = Config.Hidden, r = Config.DtRank, rows = batch * time;
        int projected = r + 2 * Config.State;
        var shape = new SelectiveScanShape(batch, time, inner, Config.State);
        Grow(ref branch, (long)rows * d); Grow(ref convInput, (long)rows * inner); Grow(ref activated, (long)rows * inner);
        var scratch = Rows(branch, d);
        ReadOnlySpan<float> input = x;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            long n = rows;
            Grow(ref b.Normed, n * d); Grow(ref b.XZ, n * 2 * inner); Grow(ref b.Conv, n * inner); Grow(ref b.Projected, n * projected);
            Grow(ref b.DtInput, n * r); Grow(ref b.Dt, n * inner); Grow(ref b.Scanned, n * inner); Grow(ref b.Output, n * d);
            if (TrainingForward) Grow(ref b.ChunkStates, shape.ChunkStatesLength);
            TabulateRates(b);

            RmsNorm.Forward(input, b.Norm.Value, Rows(b.Normed, d), rows, d);
            Project(Rows(b.Normed, d), b.InProj, null, Rows(b.XZ, 2 * inner), rows);
            Columns.Copy(Rows(b.XZ, 2 * inner), 2 * inner, Rows(convInput, inner), inner, rows, inner);
            Convolve(Rows(convInput, inner), b.ConvWeight, b.ConvBias, Rows(b.Conv, inner), batch, time, state is null ? default : state.ConvHistory[i]);
            Silu.Forward(Rows(b.Conv, inner), Rows(activated, inner));
            Project(Rows(activated, inner), b.XProj, null, Rows(b.Projected, projected), rows);
            Columns.Copy(Rows(b.Projected, projected), projected, Rows(b.DtInput, r), r, rows, r);
            Project(Rows(b.DtInput, r), b.DtProj, b.DtBias, Rows(b.Dt, inner), rows);
            SelectiveScan.Forward(ScanInputs(b, rows), shape, Rows(b.Scanned, inner),
                TrainingForward ? b.ChunkStates.AsSpan(0, shape.ChunkStatesLength) : default, state is null ? default : state.Hidden[i]);
            Project(Rows(b.Scanned, inner), b.OutProj, null, scratch, rows);
            AddBranch(input, scratch, Rows(b.Output, d), i + 1);
            input = Rows(b.Output, d);
        }
        Grow(ref headInput, (long)rows * d);
        RmsNorm.Forward(input, normF.Value, Rows(headInput, d), rows, d);
        return Rows(headInput, d);
    }

    /// <summary>A_log's rates for the scan: they change only between steps of training, and generation's steps share one snapshot of the weights.</summary>
    void TabulateRates(Block b)
    {
        if (Stepping is not null && b.RatesFor == Stepping) return;
        int table = Config.State * Config.Hidden;
        Grow(ref b.Rates, table);
        SelectiveScan.Rates(b.ALog.Value, b.Rates.AsSpan(0, table), Config.Hidden, Config.State);
        b.RatesFor = Stepping;
    }

    /// <summary>
    /// Channels a thread takes at a time in <see cref="StepBlocks"/>: whole blocks of the scan's tables
    /// (<see cref="SelectiveScanShape.BlockWidth"/>) and whole panels of the packed products at every width.
    /// </summary>
    const int ChannelUnit = PackedMatrix.MaxColumnsPerPanel;

    // Each team thread's residual stream and its normalisation [2D]; the state the step reads.
    float[][] shares = [];
    RecurrentState? stepState;
    Action<WorkerContext>? stepShare;

    /// <summary>
    /// One character of one stream (a generator's step, its weights packed for the team) as a single team job rather than
    /// some thirty (<see cref="StepBlocks"/>); the final RMSNorm after it.
    /// </summary>
    ReadOnlySpan<float> StepOnTeam(ReadOnlySpan<float> x, RecurrentState state)
    {
        int d = Config.Dim, inner = Config.Hidden;
        foreach (var b in blocks)
        {
            Grow(ref b.XZ, 2 * inner); Grow(ref b.Conv, inner); Grow(ref b.Projected, Config.DtRank + 2 * Config.State); Grow(ref b.Dt, inner);
            Grow(ref b.Scanned, inner);
            TabulateRates(b);
        }
        Grow(ref activated, inner); Grow(ref branch, d); Grow(ref headInput, d);
        int threads = Parallelism.Threads;
        if (shares.Length != threads || shares[0].Length != 2 * d) shares = [.. Enumerable.Range(0, threads).Select(_ => new float[2 * d])];
        foreach (var share in shares) x.CopyTo(share);
        stepState = state;
        Parallelism.Run(stepShare ??= context => StepBlocks(context, stepState!));
        stepState = null;
        RmsNorm.Forward(shares[0].AsSpan(0, d), normF.Value, headInput.AsSpan(0, d), 1, d);
        return headInput.AsSpan(0, d);
    }

    /// <summary>
    /// The blocks at the next character of the one stream of <paramref name="state"/>, as thread <paramref name="context"/>.Index
    /// of Count. Every thread keeps its own copy of the residual stream (<see cref="shares"/>) and computes the RMSNorms and
    /// residual adds on it itself; it takes its share of every product's panels, and its channels (whole
    /// <see cref="ChannelUnit"/>s) of the conv, the SiLU, dt_proj and the scan, and waits at a barrier wherever the others'
    /// part is needed next: five a block. Every value is computed by the same kernel as on one thread.
    /// </summary>
    void StepBlocks(WorkerContext context, RecurrentState state)
    {
        int d = Config.Dim, inner = Config.Hidden, r = Config.DtRank, n = Config.State, k = Config.ConvKernel, projected = r + 2 * n;
        var own = shares[context.Index];
        Span<float> h = own.AsSpan(0, d), norm = own.AsSpan(d, d), u = activated.AsSpan(0, inner), added = branch.AsSpan(0, d);
        var (firstUnit, endUnit) = context.Range((inner + ChannelUnit - 1) / ChannelUnit);
        int c0 = Math.Min(firstUnit * ChannelUnit, inner), c1 = Math.Min(endUnit * ChannelUnit, inner), width = c1 - c0;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            Span<float> xz = b.XZ.AsSpan(0, 2 * inner), conv = b.Conv.AsSpan(0, inner), proj = b.Projected.AsSpan(0, projected);
            Span<float> dt = b.Dt.AsSpan(0, inner), y = b.Scanned.AsSpan(0, inner);
            RmsNorm.Forward(h, b.Norm.Value, norm, 1, d);
            ProjectShare(context, norm, b.InProj, xz);
            if (width > 0)
            {
                CausalConv.StepChannels(xz[..inner], Stepping!.ByTap(b.ConvWeight), b.ConvBias.Value, conv, inner, k, state.ConvHistory[i], c0, c1);
                Silu.Forward(conv[c0..c1], u[c0..c1]);
            }
            context.Sync();
            ProjectShare(context, u, b.XProj, proj);
            if (width > 0)
            {
                var dtProj = Stepping![b.DtProj];
                var (firstPanel, endPanel) = dtProj.PanelsOf(c0, c1);
                dtProj.MultiplyPanels(proj[..r], dt, firstPanel, endPanel);
                Residual.Add(dt[c0..c1], b.DtBias.Value.AsSpan(c0, width), dt[c0..c1]);
                var inputs = new SelectiveScanInputs(u[c0..c1], dt[c0..c1], b.Rates.AsSpan(c0 * n, width * n), proj[r..], projected,
                    b.D.Value.AsSpan(c0, width), xz.Slice(inner + c0, width), 2 * inner);
                SelectiveScan.Forward(inputs, new SelectiveScanShape(1, 1, width, n), y[c0..c1], default, state.Hidden[i].AsSpan(c0 * n, width * n));
            }
            context.Sync();
            ProjectShare(context, y, b.OutProj, added);
            Residual.Add(h, added, h);
        }
    }

    /// <summary>The scan's inputs for block <paramref name="b"/>: u (in <see cref="activated"/>), dt, A_log's rates, B|C past Δr's columns, D, z past x's.</summary>
    SelectiveScanInputs ScanInputs(Block b, int rows)
    {
        int inner = Config.Hidden, r = Config.DtRank, projected = r + 2 * Config.State;
        return new SelectiveScanInputs(activated.AsSpan(0, rows * inner), b.Dt.AsSpan(0, rows * inner), b.Rates.AsSpan(0, Config.State * inner),
            b.Projected.AsSpan(r, rows * projected - r), projected, b.D.Value, b.XZ.AsSpan(inner, rows * 2 * inner - inner), 2 * inner);
    }

    protected override bool BackwardBody(Span<float> dHeadInput, Span<float> dx)
    {
        int d = Config.Dim, inner = Config.Hidden, r = Config.DtRank, k = Config.ConvKernel, rows = batch * time;
        int projected = r + 2 * Config.State;
        var shape = new SelectiveScanShape(batch, time, inner, Config.State);
        Grow(ref dScanned, (long)rows * inner); Grow(ref dActivated, (long)rows * inner); Grow(ref dXZ, (long)rows * 2 * inner);
        Grow(ref dProjected, (long)rows * projected); Grow(ref dDtInput, (long)rows * r); Grow(ref dDt, (long)rows * inner);
        var scratch = Rows(branch, d);
        // dx holds the gradient w.r.t. the residual stream, from the top of the model down to the embedding.
        RmsNorm.Backward(Rows(blocks[^1].Output, d), normF.Value, dHeadInput, dx, normF.Gradient, rows, d);
        var dNorm = dHeadInput; // free from here on: d(the blocks' normalised inputs)
        for (int i = blocks.Length - 1; i >= 0; i--)
        {
            var b = blocks[i];
            ReadOnlySpan<float> input = i == 0 ? Embedded : Rows(blocks[i - 1].Output, d);
            ReadOnlySpan<float> dBranch = DropoutBackward(dx, scratch, i + 1);
            Linear.Backward(Rows(b.Scanned, inner), b.OutProj.Value, dBranch, Rows(dScanned, inner), b.OutProj.Gradient, default, rows, inner, d);
            Silu.Forward(Rows(b.Conv, inner), Rows(activated, inner)); // u, recomputed
            SelectiveScan.Backward(ScanInputs(b, rows), shape, b.ChunkStates.AsSpan(0, shape.ChunkStatesLength), Rows(dScanned, inner),
                new SelectiveScanGradients(Rows(dActivated, inner), Rows(dDt, inner), b.ALog.Gradient,
                    dProjected.AsSpan(r, rows * projected - r), b.D.Gradient, dXZ.AsSpan(inner, rows * 2 * inner - inner)));
            Linear.Backward(Rows(b.DtInput, r), b.DtProj.Value, Rows(dDt, inner), Rows(dDtInput, r), b.DtProj.Gradient, b.DtBias.Gradient, rows, r, inner);
            Columns.Copy(Rows(dDtInput, r), r, Rows(dProjected, projected), projected, rows, r);
            Linear.Backward(Rows(activated, inner), b.XProj.Value, Rows(dProjected, projected), Rows(dActivated, inner), b.XProj.Gradient, default,
                rows, inner, projected, accumulateDx: true);
            Silu.Backward(Rows(b.Conv, inner), Rows(dActivated, inner), Rows(dActivated, inner)); // now d(conv output)
            Columns.Copy(Rows(b.XZ, 2 * inner), 2 * inner, Rows(convInput, inner), inner, rows, inner);
            var dConvInput = Rows(dScanned, inner); // free again
            CausalConv.Backward(Rows(convInput, inner), b.ConvWeight.Value, Rows(dActivated, inner), dConvInput, b.ConvWeight.Gradient, b.ConvBias.Gradient,
                batch, time, inner, k);
            Columns.Copy(dConvInput, inner, Rows(dXZ, 2 * inner), 2 * inner, rows, inner);
            Linear.Backward(Rows(b.Normed, d), b.InProj.Value, Rows(dXZ, 2 * inner), dNorm, b.InProj.Gradient, default, rows, d, 2 * inner);
            RmsNorm.Backward(input, b.Norm.Value, dNorm, dx, b.Norm.Gradient, rows, d, accumulateDx: true);
        }
        return false;
    }
}
