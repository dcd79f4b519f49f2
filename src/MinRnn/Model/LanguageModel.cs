using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// A character language model: embedding → body → (final norm) → linear head, with forward and
/// backward over a batch of token windows [batch, time]. Activations live in buffers sized for the
/// largest batch x time seen, so a training loop allocates nothing after its first step.
/// Subclasses hold the body of one architecture; <see cref="Create"/> picks it from the configuration.
/// </summary>
internal abstract class LanguageModel
{
    readonly List<Parameter> parameters = [];
    readonly List<(string Name, Parameter Of)> aliases = [];
    readonly Parameter embedding;
    Parameter headWeight = null!;
    Parameter? headBias;
    int[] tokens = [];
    float[] embedded = [], logits = [], dHeadInput = [], dEmbedded = [], scoredInput = [], dScoredInput = [];
    int rows, batch, time, scored;
    bool training;
    ulong dropoutSeed;
    int firstSequence;
    StepWeights? stepping;

    /// <summary>
    /// Creates the embedding, named <paramref name="embeddingName"/>; subclasses add their parameters, then the head
    /// (names as spec §5 and §6).
    /// </summary>
    protected LanguageModel(ModelConfig config, string embeddingName = "embedding.weight")
    {
        Config = config.Validated();
        embedding = AddParameter(embeddingName, [config.VocabularySize, config.Dim], decay: true);
    }

    /// <summary>Adds the head last, so the parameter order follows the data flow.</summary>
    protected void AddHead()
    {
        headWeight = AddParameter("head.weight", [Config.VocabularySize, Config.Dim], decay: true);
        headBias = AddParameter("head.bias", [Config.VocabularySize], decay: false);
    }

    /// <summary>
    /// Makes the head the embedding table itself (weight tying, no bias): logits = x · Eᵀ, and the table's gradient
    /// sums both uses. Checkpoints also carry it under <paramref name="name"/>, as PyTorch's state dict does.
    /// </summary>
    protected void TieHead(string name)
    {
        headWeight = embedding;
        headBias = null;
        aliases.Add((name, embedding));
    }

    /// <summary>Parameters a checkpoint also holds under a second name (a tied head), after <see cref="Parameters"/>.</summary>
    public IReadOnlyList<(string Name, Parameter Of)> Aliases => aliases;

    /// <summary>Builds the model of <paramref name="config"/>'s architecture with zero parameters.</summary>
    public static LanguageModel Create(ModelConfig config) => config.Architecture switch
    {
        Architecture.Plain when !config.Cell.IsMinimal() => new ClassicModel(config),
        Architecture.Plain => new MinCellModel(config),
        Architecture.Residual => new ResidualModel(config),
        Architecture.Transformer => new TransformerModel(config),
        Architecture.Mamba => new MambaModel(config),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Architecture, "Unknown architecture."),
    };

    /// <summary>The configuration the parameter shapes follow.</summary>
    public ModelConfig Config { get; }

    /// <summary>Every trainable tensor, in data-flow order.</summary>
    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount => parameters.Sum(p => (long)p.Value.Length);

    /// <summary>
    /// Matrix-product FLOPs of one training token that the engine performs, as nanoGPT counts them for MFU: 6 per
    /// weight of every linear map (2 forward, 4 backward), a head tied to the embedding included; lookups (the embedding,
    /// positions), the scans, attention's products and element-wise work are not counted, nor is a map folded into a
    /// per-token table (see <see cref="FoldedInTraining"/>). <see cref="MixerFlopsPerToken"/> adds the products over the
    /// sequence.
    /// </summary>
    public long TrainingFlopsPerToken =>
        6 * (parameters.Where(p => p.Shape.Length == 2 && !IsTable(p) && p != FoldedInTraining).Sum(p => (long)p.Value.Length)
             + (headWeight == embedding ? headWeight.Value.Length : 0));

    /// <summary>
    /// The sequence mixer's product FLOPs per training token at <paramref name="context"/> characters, which
    /// <see cref="TrainingFlopsPerToken"/> leaves out: attention's causal products, the selective scan's multiply-adds;
    /// none for the minimal and classic RNNs (their scans and gates are element-wise work).
    /// </summary>
    public virtual long MixerFlopsPerToken(int context) => 0;

    /// <summary>
    /// Whether <paramref name="p"/> is read without matrix products: a table read by lookup (the embedding, and any like
    /// it) or a tensor read element by element (the selective scan's A_log).
    /// </summary>
    protected virtual bool IsTable(Parameter p) => p == embedding;

    /// <summary>
    /// A weight whose products training does not run per token, because the model folds its map into a table
    /// of the vocabulary (the plain architecture's layer 0 when no dropout acts on the embedding), or null.
    /// </summary>
    public virtual Parameter? FoldedInTraining => null;

    /// <summary>How the cells evaluate their recurrence in <see cref="Forward"/> (both give the same function).</summary>
    public ScanAlgorithm Scan { get; set; } = ScanAlgorithm.Sequential;

    /// <summary>
    /// PyTorch's default initialisation: embedding ~ N(0, 1); linear and conv weights and biases
    /// ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norm weights 1. Each tensor draws from its own stream.
    /// </summary>
    public virtual void Initialize(ulong seed)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            ulong stream = seed * 1_000_003 + (ulong)i;
            if (p == embedding) CounterRandom.FillNormal(p.Value, stream, 0f, 1f);
            else if (p.Name.Contains("norm")) Array.Fill(p.Value, 1f);
            else
            {
                float bound = 1f / MathF.Sqrt(FanIn(p));
                CounterRandom.FillUniform(p.Value, stream, -bound, bound);
            }
        }
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGradients()
    {
        foreach (var p in parameters) Array.Clear(p.Gradient);
    }

    /// <summary>
    /// Runs the model over <paramref name="input"/> [batch, time] and returns the logits [batch·time, V]
    /// (a view of an internal buffer, valid until the next call). With <paramref name="train"/> set,
    /// dropout is active with masks drawn from <paramref name="seed"/>, and activations are kept for
    /// <see cref="Backward"/>.
    /// </summary>
    /// <para>With a <paramref name="state"/> (inference only), the text continues from it rather than from
    /// h_0 = 0, and the state is advanced to the end of <paramref name="input"/>.</para>
    /// <para>With <paramref name="scored"/> = P below time, only the last P positions of each sequence get logits,
    /// [batch·P, V] (row b·P + j for position time - P + j of sequence b): the head runs on those rows alone, and in
    /// <see cref="Backward"/> the other positions receive no gradient from it. 0 means every position.</para>
    /// <para>In training, the dropout masks are those of a batch in which these sequences start at index
    /// <paramref name="firstSequence"/>: a rank that trains some of a batch's sequences drops what one process training
    /// them all would.</para>
    /// <exception cref="ArgumentException">Shapes do not match, a token is outside the vocabulary, a state is given
    /// for training or for another model or batch, or <paramref name="scored"/> is outside [0, time].</exception>
    public Span<float> Forward(ReadOnlySpan<int> input, int batch, int time, bool train = false, ulong seed = 0, RecurrentState? state = null,
        int scored = 0, int firstSequence = 0)
    {
        const string op = "LanguageModel.Forward";
        Check.Positive(op, ("batch", batch), ("time", time));
        Check.Length(op, "input", input.Length, batch, time);
        if (state is not null && (train || state.Config != Config || state.Batch != batch))
            throw new ArgumentException($"{op}: a recurrent state is for inference with its own model and batch size (state batch {state.Batch}, batch {batch}, train {train}).");
        if (scored < 0 || scored > time) throw new ArgumentException($"{op}: scored must be 0 (every position) or at most time ({time}), got {scored}.");
        int d = Config.Dim, v = Config.VocabularySize;
        rows = batch * time;
        this.batch = batch;
        this.time = time;
        this.scored = scored == 0 ? time : scored;
        training = train;
        dropoutSeed = seed;
        this.firstSequence = firstSequence;
        Grow(ref tokens, rows);
        input.CopyTo(tokens);
        Grow(ref embedded, rows * d);
        var x = embedded.AsSpan(0, rows * d);
        Embedding.Forward(input, embedding.Value, x, v, d);
        AddPositions(x, batch, time, state);
        if (train && Config.Dropout > 0) DropoutForward(x, 0);
        var headInput = ForwardBody(x, batch, time, state);
        if (this.scored < time)
        {
            Grow(ref scoredInput, (long)batch * this.scored * d);
            SequenceTail.Gather(headInput, ScoredInput, batch, time, this.scored, d);
            headInput = ScoredInput;
        }
        int scoredRows = batch * this.scored;
        Grow(ref logits, (long)scoredRows * v);
        var output = logits.AsSpan(0, scoredRows * v);
        Project(headInput, headWeight, headBias, output, scoredRows);
        return output;
    }

    /// <summary>The head's input at the scored positions of the last forward, when they are not all of them.</summary>
    Span<float> ScoredInput => scoredInput.AsSpan(0, batch * scored * Config.Dim);

    /// <summary>
    /// Packs the current weights for <see cref="Step"/>. A snapshot: later changes to the parameters
    /// (training, loading) need a new one. <paramref name="oneRowOnTeam"/>: split the products of a step of one stream
    /// between the team's threads (see <see cref="PackedMatrix"/>), for callers whose cores are not needed by other work.
    /// </summary>
    internal StepWeights PackForSteps(bool oneRowOnTeam = false)
    {
        var matrices = parameters.Where(p => p.Shape.Length == 2 && (p == headWeight || !IsTable(p)))
            .ToDictionary(p => p, p => PackedMatrix.Pack(p.Value, p.Shape[0], p.Shape[1], oneRowOnTeam: oneRowOnTeam));
        var convolutions = parameters.Where(IsConvolution).ToDictionary(p => p, p =>
        {
            var byTap = new float[p.Value.Length];
            CausalConv.ByTap(p.Value, byTap, p.Shape[0], p.Shape[2]);
            return byTap;
        });
        return new StepWeights(matrices, convolutions, TabulateFirstProjection(), oneRowOnTeam);
    }

    /// <summary>
    /// Advances every stream of <paramref name="state"/> by one token (<paramref name="tokens"/> [batch])
    /// and returns the logits [batch, V]: the same function as <see cref="Forward"/> with a state and
    /// time 1, computed with <paramref name="weights"/> packed for one row per stream.
    /// </summary>
    internal Span<float> Step(ReadOnlySpan<int> tokens, RecurrentState state, StepWeights weights)
    {
        stepping = weights;
        try { return Forward(tokens, state.Batch, 1, state: state); }
        finally { stepping = null; }
    }

    /// <summary>The packed weights of the <see cref="Step"/> in progress, or null in any other forward.</summary>
    private protected StepWeights? Stepping => stepping;

    /// <summary>
    /// y = x · Wᵀ + b for <paramref name="weight"/> W and <paramref name="bias"/> b: with W's packed copy
    /// during a <see cref="Step"/>, from the parameter itself otherwise.
    /// </summary>
    protected void Project(ReadOnlySpan<float> x, Parameter weight, Parameter? bias, Span<float> y, int rows)
    {
        ReadOnlySpan<float> b = bias is null ? default : bias.Value;
        if (stepping is not null) Linear.Forward(x, stepping[weight], b, y, rows);
        else Linear.Forward(x, weight.Value, b, y, rows, weight.Shape[1], weight.Shape[0]);
    }

    /// <summary>
    /// y = x · Wᵀ for one row, no bias, inside a team job of a <see cref="Step"/>: all of it alone, else this thread's panels
    /// of the packed W and then, unless told not to, the barrier after which every thread reads all of y. Returns the
    /// columns computed.
    /// </summary>
    private protected (int First, int End) ProjectShare(WorkerContext context, ReadOnlySpan<float> x, Parameter weight, Span<float> y, bool sync = true)
    {
        if (context.Count == 1)
        {
            Project(x, weight, null, y, 1);
            return (0, y.Length);
        }
        var packed = stepping![weight];
        var (first, end) = context.Range(packed.PanelCount);
        packed.MultiplyPanels(x, y, first, end);
        if (sync) context.Sync();
        return packed.PanelColumns(first, end);
    }

    /// <summary>A depthwise convolution's weight, [dim, 1, K] as PyTorch's Conv1d with groups = dim keeps it.</summary>
    static bool IsConvolution(Parameter p) => p.Shape.Length == 3 && p.Shape[1] == 1;

    /// <summary>
    /// y = the depthwise causal convolution of x [batch·time, dim] by <paramref name="weight"/> [dim, 1, K] and
    /// <paramref name="bias"/> (<see cref="CausalConv.Forward"/>), reading on from <paramref name="history"/> when one is
    /// given: with the weight laid out by tap once for a <see cref="Step"/>, laid out at every call otherwise.
    /// </summary>
    protected void Convolve(ReadOnlySpan<float> x, Parameter weight, Parameter bias, Span<float> y, int batch, int time, Span<float> history)
    {
        int dim = weight.Shape[0], kernel = weight.Shape[2];
        if (stepping is not null) CausalConv.ForwardByTap(x, stepping.ByTap(weight), bias.Value, y, batch, time, dim, kernel, history);
        else CausalConv.Forward(x, weight.Value, bias.Value, y, batch, time, dim, kernel, history);
    }

    /// <summary>Whether a <see cref="RecurrentState"/> carries the model from one stretch of text to the next (the recurrent models).</summary>
    public virtual bool CarriesState => true;

    /// <summary>Adds position information to the embedded input x [batch·time, D] (the transformer's); nothing by default.</summary>
    protected virtual void AddPositions(Span<float> x, int batch, int time, RecurrentState? state) { }

    /// <summary>Accumulates the gradient of what <see cref="AddPositions"/> added, from dLoss/dx [batch·time, D].</summary>
    protected virtual void PositionsBackward(ReadOnlySpan<float> dx) { }

    /// <summary>
    /// For <see cref="PackForSteps"/>: the first projection of every embedding row [V, outFeatures] when
    /// the architecture applies it to the embedding directly, else null.
    /// </summary>
    protected virtual float[]? TabulateFirstProjection() => null;

    /// <summary>The embedding table [V, D].</summary>
    protected ReadOnlySpan<float> EmbeddingTable => embedding.Value;

    /// <summary>The token ids of the last forward, [rows].</summary>
    protected ReadOnlySpan<int> Tokens => tokens.AsSpan(0, rows);

    /// <summary>
    /// Accumulates dLoss/dParameters into each <see cref="Parameter.Gradient"/> from dLoss/dLogits of the
    /// last training <see cref="Forward"/> (of its scored positions: [batch·scored, V]).
    /// </summary>
    public void Backward(ReadOnlySpan<float> dLogits)
    {
        if (!training) throw new InvalidOperationException("LanguageModel.Backward: the last Forward was not a training forward.");
        int d = Config.Dim, v = Config.VocabularySize, scoredRows = batch * scored;
        Check.Length("LanguageModel.Backward", "dLogits", dLogits.Length, scoredRows, v);
        Grow(ref dHeadInput, rows * d);
        Grow(ref dEmbedded, rows * d);
        var dHead = dHeadInput.AsSpan(0, rows * d);
        var headBiasGradient = headBias is null ? default : headBias.Gradient.AsSpan();
        if (scored == time)
        {
            Linear.Backward(HeadInput, headWeight.Value, dLogits, dHead, headWeight.Gradient, headBiasGradient, rows, d, v);
        }
        else
        {
            Grow(ref dScoredInput, (long)scoredRows * d);
            var dScored = dScoredInput.AsSpan(0, scoredRows * d);
            Linear.Backward(ScoredInput, headWeight.Value, dLogits, dScored, headWeight.Gradient, headBiasGradient, scoredRows, d, v);
            SequenceTail.Scatter(dScored, dHead, batch, time, scored, d);
        }
        var dx = dEmbedded.AsSpan(0, rows * d);
        if (BackwardBody(dHead, dx)) return;
        if (Config.Dropout > 0) Dropout.Backward(dx, dx, Config.Dropout, DropoutStream(0), DropoutOffset);
        PositionsBackward(dx);
        Embedding.Backward(tokens.AsSpan(0, rows), dx, embedding.Gradient, v, d);
    }

    /// <summary>
    /// Peak memory of training at <paramref name="batch"/> x <paramref name="time"/> with the last
    /// <paramref name="scored"/> positions of each sequence scored (0: all): parameters, gradients and the two AdamW
    /// moments, every activation and gradient buffer of the forward and backward, the logits and their gradient (and
    /// the head's gathered input and its gradient when not every position is scored), and the token ids.
    /// </summary>
    public long EstimateTrainingBytes(int batch, int time, int scored = 0)
    {
        long rows = (long)batch * time, scoredRows = (long)batch * (scored == 0 ? time : scored);
        int d = Config.Dim, v = Config.VocabularySize;
        long perRow = 3L * d + BodyFloatsPerRow(); // embedded, dHeadInput, dEmbedded
        long perScoredRow = 2L * v + (scoredRows < rows ? 2L * d : 0); // logits, dLogits; gathered head input and its gradient
        return sizeof(float) * (4 * ParameterCount + rows * perRow + scoredRows * perScoredRow) + 2 * sizeof(int) * rows;
    }

    /// <summary>Floats per token that the body's forward and backward buffers hold.</summary>
    protected abstract long BodyFloatsPerRow();

    /// <summary>
    /// Runs the body on the embedded input x [rows, D] and returns the head's input [rows, D]; with a
    /// state, starts from it and leaves it at the end of the input.
    /// </summary>
    protected abstract ReadOnlySpan<float> ForwardBody(Span<float> x, int batch, int time, RecurrentState? state);

    /// <summary>The head's input of the last forward.</summary>
    protected abstract ReadOnlySpan<float> HeadInput { get; }

    /// <summary>
    /// From dLoss/d(head input) (may be overwritten), writes dLoss/d(embedded input) into <paramref name="dx"/> and
    /// returns false; or accumulates the embedding table's gradient itself, leaves dx alone and returns true.
    /// </summary>
    protected abstract bool BackwardBody(Span<float> dHeadInput, Span<float> dx);

    /// <summary>dLoss/d(embedding table) [V, D], for a body that accumulates it itself.</summary>
    protected Span<float> EmbeddingGradient => embedding.Gradient;

    /// <summary>The embedded (and dropped-out) input of the last forward, [rows, D].</summary>
    protected ReadOnlySpan<float> Embedded => embedded.AsSpan(0, rows * Config.Dim);

    /// <summary>Whether the last forward was a training forward (dropout active).</summary>
    protected bool Training => training && Config.Dropout > 0;

    /// <summary>Whether the last forward was a training forward, dropout or not: its activations are kept for <see cref="Backward"/>.</summary>
    protected bool TrainingForward => training;

    /// <summary>The dropout mask stream of site <paramref name="site"/> for the last forward.</summary>
    protected ulong DropoutStream(int site) => dropoutSeed * 1_000_003 + (ulong)site;

    /// <summary>The index in its batch of the last forward's first sequence (see <see cref="Forward"/>).</summary>
    protected int FirstSequence => firstSequence;

    /// <summary>Where the last forward's [rows, D] buffers start in a dropout mask laid over the whole batch.</summary>
    protected long DropoutOffset => (long)firstSequence * time * Config.Dim;

    /// <summary>Dropout site <paramref name="site"/>'s mask applied in place to a [rows, D] buffer of the last forward.</summary>
    void DropoutForward(Span<float> x, int site) => Dropout.Forward(x, x, Config.Dropout, DropoutStream(site), DropoutOffset);

    /// <summary>
    /// The residual connection y = x + branch of the last forward's [rows, D] buffers, the branch through dropout site
    /// <paramref name="site"/>'s mask when training (one pass; <see cref="DropoutBackward"/> is its backward).
    /// </summary>
    protected void AddBranch(ReadOnlySpan<float> x, ReadOnlySpan<float> branch, Span<float> y, int site)
    {
        if (Training) Dropout.AddToResidual(x, branch, y, Config.Dropout, DropoutStream(site), DropoutOffset);
        else Residual.Add(x, branch, y);
    }

    /// <summary>
    /// d(branch output) from d(residual stream): through dropout site <paramref name="site"/>'s mask into
    /// <paramref name="scratch"/> when training, else the same buffer.
    /// </summary>
    protected ReadOnlySpan<float> DropoutBackward(Span<float> dStream, Span<float> scratch, int site)
    {
        if (!Training) return dStream;
        Dropout.Backward(dStream, scratch, Config.Dropout, DropoutStream(site), DropoutOffset);
        return scratch;
    }

    /// <summary>The last forward's rows of <paramref name="buffer"/>, <paramref name="width"/> floats each.</summary>
    protected Span<float> Rows(float[] buffer, int width) => buffer.AsSpan(0, rows * width);

    /// <summary>Adds a parameter in data-flow order.</summary>
    protected Parameter AddParameter(string name, int[] shape, bool decay)
    {
        var p = new Parameter(name, shape, decay);
        parameters.Add(p);
        return p;
    }

    /// <summary>Makes sure <paramref name="buffer"/> holds at least <paramref name="length"/> elements.</summary>
    protected static void Grow<T>(ref T[] buffer, long length)
    {
        if (buffer.Length < length) buffer = new T[length];
    }

    /// <summary>Inputs per output of a weight: its size over the output dimension (the first).</summary>
    int FanIn(Parameter p) => p.Shape.Length == 1 ? FanInOfBias(p) : p.Value.Length / p.Shape[0];

    /// <summary>A bias shares the bound of the weight it belongs to: the parameter just before it.</summary>
    int FanInOfBias(Parameter bias) => FanIn(parameters[parameters.IndexOf(bias) - 1]);
}
