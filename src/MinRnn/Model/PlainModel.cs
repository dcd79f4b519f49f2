using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The seed's architecture (spec §3 "plain"): x_0 = embedding, x_{i+1} = cell_i(x_i) with H = D and h_0 = 0,
/// logits = head(x_L). Each cell starts with a linear map of its input to G·D pre-activations (all time
/// steps in one product); what follows is the cell's own (<see cref="MinCellModel"/>, <see cref="ClassicModel"/>).
/// Layer i keeps its pre-activations [rows, G·D] and its output [rows, D].
/// </summary>
internal abstract class PlainModel : LanguageModel
{
    readonly float[][] preactivations, outputs;
    float[] gradientA = [], dPreactivations = [];

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
        int d = Config.Dim, g = Config.Cell.Gates(), rows = batch * time;
        for (int i = 0; i < Config.Layers; i++)
        {
            Grow(ref preactivations[i], (long)rows * g * d);
            Grow(ref outputs[i], (long)rows * d);
            var pre = Preactivations(i);
            if (i == 0 && Stepping?.FirstProjection is { } table) Embedding.Forward(Tokens, table, pre, Config.VocabularySize, g * d);
            else Project(Input(i), InputWeights[i], InputBiases[i], pre, rows);
            CellForward(i, pre, Output(i), state);
        }
        return Output(Config.Layers - 1);
    }

    protected override void BackwardBody(Span<float> dHeadInput, Span<float> dx)
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
            Span<float> dInput = i == 0 ? dx : (Config.Layers - 1 - i) % 2 == 0 ? gradientA.AsSpan(0, rows * d) : dHeadInput;
            Linear.Backward(Input(i), InputWeights[i].Value, dPre, dInput, InputWeights[i].Gradient, InputBiases[i].Gradient, rows, d, g * d);
            dOutput = dInput;
        }
    }

    // Layer 0 maps the embedding itself, so its pre-activations are a function of the token alone.
    protected override float[]? TabulateFirstProjection()
    {
        int v = Config.VocabularySize, d = Config.Dim, g = Config.Cell.Gates();
        var table = new float[v * g * d];
        Linear.Forward(EmbeddingTable, InputWeights[0].Value, InputBiases[0].Value, table, v, d, g * d);
        return table;
    }

    ReadOnlySpan<float> Input(int layer) => layer == 0 ? Embedded : Output(layer - 1);
    Span<float> Output(int layer) => outputs[layer].AsSpan(0, Batch * Time * Config.Dim);
    Span<float> Preactivations(int layer) => preactivations[layer].AsSpan(0, Batch * Time * Config.Cell.Gates() * Config.Dim);
}
