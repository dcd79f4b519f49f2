using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The seed's architecture (spec §3 "plain"): x_0 = embedding, x_{i+1} = cell_i(x_i) with H = D and h_0 = 0,
/// logits = head(x_L). Each cell starts with a linear map of its input to G·D pre-activations (all time
/// steps in one product); what follows is the cell's own (<see cref="MinCellModel"/>, <see cref="ClassicModel"/>).
/// Layer i keeps its pre-activations [rows, G·D] and its output [rows, D].
/// <para>Layer 0 maps the embedding itself, so unless dropout acts on the embedding its pre-activations are a
/// function of the token alone: the forward maps the V rows of the table once and looks each token up
/// (T = E·W₀ᵀ + b₀, pre₀[n] = T[token n]), and the backward sums the gradients of each token's rows first
/// (S[v] = Σ_{n: token n = v} dpre₀[n]), then dW₀ += Sᵀ·E, db₀ += Σ_v S[v] and dE += S·W₀. The same function
/// and the same gradients as the product over all rows, with V rows in the products instead of batch·time.</para>
/// </summary>
internal abstract class PlainModel : LanguageModel
{
    readonly float[][] preactivations, outputs;
    float[] gradientA = [], dPreactivations = [], firstTable = [], tokenGradients = [], embeddingDelta = [];
    bool folded;

    /// <summary>The input map of each layer, added by the subclass in its tensors' order.</summary>
    protected readonly Parameter[] InputWeights, InputBiases;

    /// <summary>Batch and time of the last forward.</summary>
    protected int Batch, Time;

    protected PlainModel(ModelConfig config) : base(config)
    {
        int l = config.Layers;
        InputWeights = new Parameter[l];
        InputBiases = new Parameter[l];
        preactivations = new float[l][];
        outputs = new float[l][];
        for (int i = 0; i < l; i++) { preactivations[i] = []; outputs[i] = []; }
    }

    public override Parameter? FoldedInTraining => Config.Dropout > 0 ? null : InputWeights[0];

    /// <summary>Floats per token the cell itself keeps for its backward, beyond the pre-activations and output.</summary>
    protected abstract long CellFloatsPerRow();

    /// <summary>Runs layer <paramref name="layer"/>'s recurrence: output [rows, D] from its pre-activations (from the state, and advancing it, when given).</summary>
    protected abstract void CellForward(int layer, ReadOnlySpan<float> preactivations, Span<float> output, RecurrentState? state);

    /// <summary>dL/d(pre-activations) of layer <paramref name="layer"/> from dL/d(output), with its recurrent weights' gradients accumulated.</summary>
    protected abstract void CellBackward(int layer, ReadOnlySpan<float> preactivations, ReadOnlySpan<float> output, Span<float> dOutput, Span<float> dPreactivations);

    // Per layer: pre-activations, output and the cell's own; in backward one more gradient row and dPre.
    protected override long BodyFloatsPerRow()
    {
        long d = Config.Dim, g = Config.Cell.Gates();
        return Config.Layers * (g * d + d + CellFloatsPerRow()) + d + g * d;
    }

    protected override ReadOnlySpan<float> HeadInput => Output(Config.Layers - 1);

    protected override ReadOnlySpan<float> ForwardBody(Span<float> x, int batch, int time, RecurrentState? state)
    {
        Batch = batch;
        Time = time;
        folded = !Training;
        int d = Config.Dim, g = Config.Cell.Gates(), rows = batch * time;
        for (int i = 0; i < Config.Layers; i++)
        {
            Grow(ref preactivations[i], (long)rows * g * d);
            Grow(ref outputs[i], (long)rows * d);
            var pre = Preactivations(i);
            if (i == 0 && folded) Embedding.Forward(Tokens, FirstTable(), pre, Config.VocabularySize, g * d);
            else Project(Input(i), InputWeights[i], InputBiases[i], pre, rows);
            CellForward(i, pre, Output(i), state);
        }
        return Output(Config.Layers - 1);
    }

    protected override bool BackwardBody(Span<float> dHeadInput, Span<float> dx)
    {
        int d = Config.Dim, g = Config.Cell.Gates(), rows = Batch * Time;
        Grow(ref gradientA, (long)rows * d);
        Grow(ref dPreactivations, (long)rows * g * d);
        var dPre = dPreactivations.AsSpan(0, rows * g * d);
        // The gradient w.r.t. each layer's output alternates between two buffers; layer 0 writes dx.
        Span<float> dOutput = dHeadInput;
        for (int i = Config.Layers - 1; i >= 0; i--)
        {
            CellBackward(i, Preactivations(i), Output(i), dOutput, dPre);
            if (i == 0 && folded)
            {
                BackwardThroughTable(dPre);
                return true;
            }
            Span<float> dInput = i == 0 ? dx : (Config.Layers - 1 - i) % 2 == 0 ? gradientA.AsSpan(0, rows * d) : dHeadInput;
            Linear.Backward(Input(i), InputWeights[i].Value, dPre, dInput, InputWeights[i].Gradient, InputBiases[i].Gradient, rows, d, g * d);
            dOutput = dInput;
        }
        return false;
    }

    /// <summary>Layer 0's gradients by token: S = the rows of dPre summed per token, then W₀, b₀ and E from S.</summary>
    void BackwardThroughTable(ReadOnlySpan<float> dPre)
    {
        int v = Config.VocabularySize, d = Config.Dim, g = Config.Cell.Gates();
        Grow(ref tokenGradients, (long)v * g * d);
        Grow(ref embeddingDelta, (long)v * d);
        var perToken = tokenGradients.AsSpan(0, v * g * d);
        var delta = embeddingDelta.AsSpan(0, v * d);
        perToken.Clear();
        Embedding.Backward(Tokens, dPre, perToken, v, g * d);
        Linear.Backward(EmbeddingTable, InputWeights[0].Value, perToken, delta, InputWeights[0].Gradient, InputBiases[0].Gradient, v, d, g * d);
        Kernels.VectorOps.AddTo(EmbeddingGradient, delta);
    }

    /// <summary>Layer 0's map of every embedding row: the packed snapshot's during a step, else made now.</summary>
    ReadOnlySpan<float> FirstTable()
    {
        if (Stepping?.FirstProjection is { } snapshot) return snapshot;
        int v = Config.VocabularySize, d = Config.Dim, g = Config.Cell.Gates();
        Grow(ref firstTable, (long)v * g * d);
        var table = firstTable.AsSpan(0, v * g * d);
        Tabulate(table);
        return table;
    }

    /// <summary>table [V, G·D] = E · W₀ᵀ + b₀.</summary>
    void Tabulate(Span<float> table)
    {
        int v = Config.VocabularySize, d = Config.Dim, g = Config.Cell.Gates();
        Linear.Forward(EmbeddingTable, InputWeights[0].Value, InputBiases[0].Value, table, v, d, g * d);
    }

    // Generation's snapshot of layer 0's table (see the class remarks).
    protected override float[]? TabulateFirstProjection()
    {
        var table = new float[Config.VocabularySize * Config.Cell.Gates() * Config.Dim];
        Tabulate(table);
        return table;
    }


    ReadOnlySpan<float> Input(int layer) => layer == 0 ? Embedded : Output(layer - 1);
    Span<float> Output(int layer) => outputs[layer].AsSpan(0, Batch * Time * Config.Dim);
    Span<float> Preactivations(int layer) => preactivations[layer].AsSpan(0, Batch * Time * Config.Cell.Gates() * Config.Dim);
}
