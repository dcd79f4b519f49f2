using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// nanoGPT's GPT with bias=False (spec §6): x = drop(wte[token] + wpe[position]); block i maps x to
/// x1 = x + drop(c_proj(attn(c_attn(ln_1(x))))), x2 = x1 + drop(mlp.c_proj(gelu(mlp.c_fc(ln_2(x1))))); the head reads
/// ln_f(x_L) and is the token embedding itself (tied). Attention is causal, multi-head, fused (the T×T matrix is never
/// stored), with dropout on its probabilities. Each block keeps the activations its backward needs.
/// </summary>
internal sealed class TransformerModel : LanguageModel
{
    sealed class Block
    {
        public required Parameter Norm1, Attention, AttentionOut, Norm2, MlpUp, MlpDown;
        // Activations of the last forward: the block's input normalised (with its rows' mean and 1/σ), q|k|v,
        // attention's output and log-sum-exp rows, x1, its normalisation, the MLP's pre-activation and GELU, and x2.
        public float[] N1 = [], Mean1 = [], Rstd1 = [], Qkv = [], Attended = [], LogSumExp = [], X1 = [],
            N2 = [], Mean2 = [], Rstd2 = [], Up = [], Gelu = [], Output = [];
    }

    readonly Block[] blocks;
    readonly Parameter positions, normF;
    float[] headInput = [], meanF = [], rstdF = [], branch = [], dQkv = [], dAttended = [], dUp = [];
    int batch, time;

    public TransformerModel(ModelConfig config) : base(config, "transformer.wte.weight")
    {
        int d = config.Dim, m = config.MlpMultiplier * d;
        positions = AddParameter("transformer.wpe.weight", [config.BlockSize, d], decay: true);
        blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"transformer.h.{i}.";
            blocks[i] = new Block
            {
                Norm1 = AddParameter(p + "ln_1.weight", [d], decay: false),
                Attention = AddParameter(p + "attn.c_attn.weight", [3 * d, d], decay: true),
                AttentionOut = AddParameter(p + "attn.c_proj.weight", [d, d], decay: true),
                Norm2 = AddParameter(p + "ln_2.weight", [d], decay: false),
                MlpUp = AddParameter(p + "mlp.c_fc.weight", [m, d], decay: true),
                MlpDown = AddParameter(p + "mlp.c_proj.weight", [d, m], decay: true),
            };
        }
        normF = AddParameter("transformer.ln_f.weight", [d], decay: false);
        TieHead("lm_head.weight");
    }

    /// <summary>
    /// nanoGPT's initialisation: every weight matrix and both embeddings ~ N(0, 0.02), the projections into the residual
    /// stream (c_proj) ~ N(0, 0.02 / sqrt(2 L)), LayerNorm weights 1. Each tensor draws from its own stream.
    /// </summary>
    public override void Initialize(ulong seed)
    {
        float residual = 0.02f / MathF.Sqrt(2 * Config.Layers);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            ulong stream = seed * 1_000_003 + (ulong)i;
            if (p.Shape.Length == 1) Array.Fill(p.Value, 1f);
            else CounterRandom.FillNormal(p.Value, stream, 0f, p.Name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? residual : 0.02f);
        }
    }

    protected override bool IsTable(Parameter p) => p == positions || base.IsTable(p);

    /// <summary>
    /// Per layer and token, the causal products that run: q·kᵀ over the token's (on average T/2) keys and P·V, 2·T·D
    /// forward, twice that backward: 6·T·D (nanoGPT's estimate counts 12·T·D, the full T×T matrix).
    /// </summary>
    public override long MixerFlopsPerToken(int context) => 6L * Config.Layers * context * Config.Dim;

    /// <summary>
    /// Its state is a key/value cache bounded by the block size: past the block it re-reads its window at every character,
    /// so a streaming loss over a long text (which would do that for every character) is left out.
    /// </summary>
    public override bool CarriesState => false;

    // Per block: n1, x1, n2, output (D each), qkv (3D), attended (D), up and gelu (M each), two means, two 1/σ and the
    // heads' log-sum-exp (per row: 4 + heads); then the head input, the branch scratch, dQkv, dAttended and dUp.
    protected override long BodyFloatsPerRow()
    {
        long d = Config.Dim, m = Config.MlpMultiplier * d;
        long block = 4 * d + 3 * d + d + 2 * m + 4 + Config.Heads;
        return Config.Layers * block + 2 + d + d + 3 * d + d + m;
    }

    protected override ReadOnlySpan<float> HeadInput => Rows(headInput, Config.Dim);

    /// <summary>x += wpe[t] for the position t of every row (with a cache, each row's position is added as it is read).</summary>
    protected override void AddPositions(Span<float> x, int batch, int time, RecurrentState? state)
    {
        if (state is not null) return;
        if (time > Config.BlockSize)
            throw new ArgumentException($"TransformerModel: a context of {time} characters is longer than the model's block size of {Config.BlockSize}.");
        int d = Config.Dim;
        var table = positions.Value.AsSpan(0, time * d);
        for (int b = 0; b < batch; b++) Residual.Add(x.Slice(b * time * d, time * d), table, x.Slice(b * time * d, time * d));
    }

    /// <summary>dwpe[t] += Σ_b dx[b, t].</summary>
    protected override void PositionsBackward(ReadOnlySpan<float> dx)
    {
        int d = Config.Dim;
        var gradient = positions.Gradient.AsSpan(0, time * d);
        for (int b = 0; b < batch; b++) Residual.Add(gradient, dx.Slice(b * time * d, time * d), gradient);
    }

    protected override ReadOnlySpan<float> ForwardBody(Span<float> x, int batch, int time, RecurrentState? state)
    {
        this.batch = batch;
        this.time = time;
        if (state is not null) return ReadWithCache(x, batch, time, state);
        int d = Config.Dim, m = Config.MlpMultiplier * d, heads = Config.Heads, rows = batch * time;
        float p = Config.Dropout;
        Grow(ref branch, (long)rows * d);
        var scratch = Rows(branch, d);
        ReadOnlySpan<float> input = x;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            long n = rows;
            Grow(ref b.N1, n * d); Grow(ref b.Mean1, n); Grow(ref b.Rstd1, n); Grow(ref b.Qkv, n * 3 * d); Grow(ref b.Attended, n * d);
            Grow(ref b.LogSumExp, n * heads); Grow(ref b.X1, n * d); Grow(ref b.N2, n * d); Grow(ref b.Mean2, n); Grow(ref b.Rstd2, n);
            Grow(ref b.Up, n * m); Grow(ref b.Gelu, n * m); Grow(ref b.Output, n * d);

            LayerNorm.Forward(input, b.Norm1.Value, Rows(b.N1, d), Rows(b.Mean1, 1), Rows(b.Rstd1, 1), rows, d);
            Project(Rows(b.N1, d), b.Attention, null, Rows(b.Qkv, 3 * d), rows);
            CausalAttention.Forward(Rows(b.Qkv, 3 * d), Rows(b.Attended, d), Rows(b.LogSumExp, heads), batch, time, heads, d,
                Training ? p : 0, AttentionStream(i), FirstSequence);
            Project(Rows(b.Attended, d), b.AttentionOut, null, scratch, rows);
            AddBranch(input, scratch, Rows(b.X1, d), 3 * i + 1);

            LayerNorm.Forward(Rows(b.X1, d), b.Norm2.Value, Rows(b.N2, d), Rows(b.Mean2, 1), Rows(b.Rstd2, 1), rows, d);
            Project(Rows(b.N2, d), b.MlpUp, null, Rows(b.Up, m), rows);
            GeluExact.Forward(Rows(b.Up, m), Rows(b.Gelu, m));
            Project(Rows(b.Gelu, m), b.MlpDown, null, scratch, rows);
            AddBranch(Rows(b.X1, d), scratch, Rows(b.Output, d), 3 * i + 2);
            input = Rows(b.Output, d);
        }
        Grow(ref headInput, (long)rows * d); Grow(ref meanF, rows); Grow(ref rstdF, rows);
        LayerNorm.Forward(input, normF.Value, Rows(headInput, d), Rows(meanF, 1), Rows(rstdF, 1), rows, d);
        return Rows(headInput, d);
    }

    protected override bool BackwardBody(Span<float> dHeadInput, Span<float> dx)
    {
        int d = Config.Dim, m = Config.MlpMultiplier * d, heads = Config.Heads, rows = batch * time;
        float p = Config.Dropout;
        Grow(ref dQkv, (long)rows * 3 * d);
        Grow(ref dAttended, (long)rows * d);
        Grow(ref dUp, (long)rows * m);
        var scratch = Rows(branch, d);
        // dx holds the gradient w.r.t. the residual stream, from the top of the model down to the embedding.
        LayerNorm.Backward(Rows(blocks[^1].Output, d), normF.Value, Rows(meanF, 1), Rows(rstdF, 1), dHeadInput, dx, normF.Gradient, rows, d);
        var dNorm = dHeadInput; // free from here on: the branches' d(norm output)
        for (int i = blocks.Length - 1; i >= 0; i--)
        {
            var b = blocks[i];
            ReadOnlySpan<float> input = i == 0 ? Embedded : Rows(blocks[i - 1].Output, d);

            ReadOnlySpan<float> dBranch = DropoutBackward(dx, scratch, 3 * i + 2);
            Linear.Backward(Rows(b.Gelu, m), b.MlpDown.Value, dBranch, Rows(dUp, m), b.MlpDown.Gradient, default, rows, m, d);
            GeluExact.Backward(Rows(b.Up, m), Rows(dUp, m), Rows(dUp, m));
            Linear.Backward(Rows(b.N2, d), b.MlpUp.Value, Rows(dUp, m), dNorm, b.MlpUp.Gradient, default, rows, d, m);
            LayerNorm.Backward(Rows(b.X1, d), b.Norm2.Value, Rows(b.Mean2, 1), Rows(b.Rstd2, 1), dNorm, dx, b.Norm2.Gradient, rows, d, accumulateDx: true);

            dBranch = DropoutBackward(dx, scratch, 3 * i + 1);
            Linear.Backward(Rows(b.Attended, d), b.AttentionOut.Value, dBranch, Rows(dAttended, d), b.AttentionOut.Gradient, default, rows, d, d);
            CausalAttention.Backward(Rows(b.Qkv, 3 * d), Rows(b.Attended, d), Rows(b.LogSumExp, heads), Rows(dAttended, d), Rows(dQkv, 3 * d),
                batch, time, heads, d, Training ? p : 0, AttentionStream(i), FirstSequence);
            Linear.Backward(Rows(b.N1, d), b.Attention.Value, Rows(dQkv, 3 * d), dNorm, b.Attention.Gradient, default, rows, d, 3 * d);
            LayerNorm.Backward(input, b.Norm1.Value, Rows(b.Mean1, 1), Rows(b.Rstd1, 1), dNorm, dx, b.Norm1.Gradient, rows, d, accumulateDx: true);
        }
        return false;
    }

    // One position's activations while reading with the cache.
    float[] row = [], rowNorm = [], rowQkv = [], rowAttended = [], rowBranch = [], rowUp = [], rowStats = new float[2];

    /// <summary>
    /// Inference with the key/value cache: each stream's characters are read one position at a time, each attending over
    /// the keys and values the stream holds, then its own. A stream whose cache holds C positions first re-reads its last
    /// C - 1 characters from an empty cache, so that, as nanoGPT crops its input to the last block, the model always sees
    /// at most the last C characters at positions 0..C-1.
    /// </summary>
    ReadOnlySpan<float> ReadWithCache(ReadOnlySpan<float> x, int batch, int time, RecurrentState state)
    {
        int d = Config.Dim, m = Config.MlpMultiplier * d, c = Config.BlockSize;
        Grow(ref headInput, (long)batch * time * d);
        Grow(ref row, d); Grow(ref rowNorm, d); Grow(ref rowQkv, 3 * d); Grow(ref rowAttended, d); Grow(ref rowBranch, d); Grow(ref rowUp, m);
        var tokens = Tokens;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < time; t++)
            {
                int at = b * time + t;
                if (state.Lengths[b] == c)
                {
                    var window = state.Tokens.AsSpan(b * c + 1, c - 1).ToArray();
                    state.Lengths[b] = 0;
                    foreach (int token in window) ReadPosition(EmbeddingTable.Slice(token * d, d), token, b, state, d, m, c);
                }
                ReadPosition(x.Slice(at * d, d), tokens[at], b, state, d, m, c);
                LayerNorm.Forward(row.AsSpan(0, d), normF.Value, headInput.AsSpan(at * d, d), rowStats.AsSpan(0, 1), rowStats.AsSpan(1, 1), 1, d);
            }
        return headInput.AsSpan(0, batch * time * d);
    }

    /// <summary>
    /// Reads one character (its embedding row) at the next position of stream <paramref name="b"/>, leaving the residual
    /// stream in <see cref="row"/>. With the weights packed for the team's threads (a generator's step), the blocks are one
    /// team job (<see cref="ReadBlocks"/>) rather than some twenty.
    /// </summary>
    void ReadPosition(ReadOnlySpan<float> embedded, int token, int b, RecurrentState state, int d, int m, int c)
    {
        int position = state.Lengths[b];
        Residual.Add(embedded, positions.Value.AsSpan(position * d, d), row.AsSpan(0, d));
        if (Stepping is { OneRowOnTeam: true } && Parallelism.Threads > 1 && !WorkerTeam.InsideJob)
        {
            int threads = Parallelism.Threads;
            if (shares.Length != threads) shares = [.. Enumerable.Range(0, threads).Select(_ => new float[2 * d + 2])];
            foreach (var share in shares) row.AsSpan(0, d).CopyTo(share);
            readStream = b;
            readState = state;
            Parallelism.Run(readShare ??= context => ReadBlocks(context, readStream, readState!));
            readState = null;
        }
        else ReadBlocks(new WorkerContext(0, 1, null), b, state);
        state.Tokens[b * c + position] = token;
        state.Lengths[b] = position + 1;
    }

    // Each team thread's residual stream, its normalisation and their statistics [2d + 2]; the stream and state read.
    float[][] shares = [];
    int readStream;
    RecurrentState? readState;
    Action<WorkerContext>? readShare;

    /// <summary>
    /// The blocks at the next position of stream <paramref name="b"/>, as thread <paramref name="context"/>.Index of
    /// Count. Alone (Count 1) it computes everything on <see cref="row"/> with the usual kernels. On a team every thread
    /// keeps its own copy of the residual stream (<see cref="shares"/>; thread 0's is left in <see cref="row"/>) and computes
    /// the norms and residual adds on it itself, takes its share of every product's panels and of the heads, and waits
    /// at a barrier wherever the others' part is needed next. Every value is computed by the same kernel either way.
    /// </summary>
    void ReadBlocks(WorkerContext context, int b, RecurrentState state)
    {
        int d = Config.Dim, m = Config.MlpMultiplier * d, c = Config.BlockSize, heads = Config.Heads, size = d / heads;
        int position = state.Lengths[b], stride = CausalAttention.KeyCacheStride(c);
        bool alone = context.Count == 1;
        float[] own = alone ? [] : shares[context.Index];
        var h = alone ? row.AsSpan(0, d) : own.AsSpan(0, d);
        var norm = alone ? rowNorm.AsSpan(0, d) : own.AsSpan(d, d);
        var stats = alone ? rowStats.AsSpan() : own.AsSpan(2 * d, 2);
        var (firstHead, endHead) = context.Range(heads);
        Span<float> qkv = rowQkv.AsSpan(0, 3 * d), attended = rowAttended.AsSpan(0, d), branch = rowBranch.AsSpan(0, d), up = rowUp.AsSpan(0, m);
        for (int i = 0; i < blocks.Length; i++)
        {
            var block = blocks[i];
            LayerNorm.Forward(h, block.Norm1.Value, norm, stats[..1], stats[1..], 1, d);
            ProjectShare(context, norm, block.Attention, qkv);
            var keys = state.Keys[i].AsSpan(b * d * stride, d * stride);
            var values = state.Values[i].AsSpan(b * c * d, c * d);
            int first = firstHead * size, end = endHead * size;
            for (int column = first; column < end; column++) keys[column * stride + position] = qkv[d + column];
            qkv[(2 * d + first)..(2 * d + end)].CopyTo(values.Slice(position * d + first, end - first));
            if (alone) CausalAttention.Decode(qkv[..d], keys, values, attended, 1, heads, d, position + 1, c);
            else CausalAttention.DecodeHeads(qkv[..d], keys, values, attended, heads, d, position + 1, c, firstHead, endHead);
            context.Sync();
            ProjectShare(context, attended, block.AttentionOut, branch);
            Residual.Add(h, branch, h);
            LayerNorm.Forward(h, block.Norm2.Value, norm, stats[..1], stats[1..], 1, d);
            var (upFirst, upEnd) = ProjectShare(context, norm, block.MlpUp, up, sync: false);
            if (upEnd > upFirst) GeluExact.Forward(up[upFirst..upEnd], up[upFirst..upEnd]);
            context.Sync();
            ProjectShare(context, up, block.MlpDown, branch);
            Residual.Add(h, branch, h);
        }
        if (!alone && context.Index == 0) h.CopyTo(row);
    }

    /// <summary>The attention-dropout mask stream of block <paramref name="block"/> for the last forward.</summary>
    ulong AttentionStream(int block) => DropoutStream(3 * block + 3);
}
