using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The seed's model (spec §3 "plain"): x_0 = embedding, x_{i+1} = cell_i(x_i) with H = D and h_0 = 0,
/// logits = head(x_L). Layer i keeps its pre-activations [rows, G·D] and its output [rows, D].
/// </summary>
internal sealed class PlainModel : LanguageModel
{
    readonly Parameter[] weights, biases;
    readonly float[][] preactivations, outputs;
    float[] gradientA = [], dPreactivations = [];
    int batch, time;

    public PlainModel(ModelConfig config) : base(config)
    {
        int l = config.Layers, d = config.Dim, g = config.Cell.Gates();
        string name = config.Cell == RecurrentCell.MinGru ? "gate_hidden" : "gates_hidden";
        weights = new Parameter[l];
        biases = new Parameter[l];
        for (int i = 0; i < l; i++)
        {
            weights[i] = AddParameter($"layers.{i}.{name}.weight", [g * d, d], decay: true);
            biases[i] = AddParameter($"layers.{i}.{name}.bias", [g * d], decay: false);
        }
        AddHead();
        preactivations = new float[l][];
        outputs = new float[l][];
        for (int i = 0; i < l; i++) { preactivations[i] = []; outputs[i] = []; }
    }

    // Per layer: pre-activations and output; in backward one more gradient row and dPre.
    protected override long BodyFloatsPerRow()
    {
        long d = Config.Dim, g = Config.Cell.Gates();
        return Config.Layers * (g * d + d) + d + g * d;
    }

    protected override ReadOnlySpan<float> HeadInput => Output(Config.Layers - 1);

    protected override ReadOnlySpan<float> ForwardBody(Span<float> x, int batch, int time, RecurrentState? state)
    {
        this.batch = batch;
        this.time = time;
        int d = Config.Dim, g = Config.Cell.Gates(), rows = batch * time;
        for (int i = 0; i < Config.Layers; i++)
        {
            Grow(ref preactivations[i], (long)rows * g * d);
            Grow(ref outputs[i], (long)rows * d);
            var pre = Preactivations(i);
            if (i == 0 && Stepping?.FirstProjection is { } table) Embedding.Forward(Tokens, table, pre, Config.VocabularySize, g * d);
            else Project(Input(i), weights[i], biases[i], pre, rows);
            MinRnnScan.Forward(Config.Cell, Scan, pre, state is null ? default : state.Hidden[i], Output(i), batch, time, d);
            state?.KeepLastHidden(i, Output(i), time);
        }
        return Output(Config.Layers - 1);
    }

    protected override void BackwardBody(Span<float> dHeadInput, Span<float> dx)
    {
        int d = Config.Dim, g = Config.Cell.Gates(), rows = batch * time;
        Grow(ref gradientA, (long)rows * d);
        Grow(ref dPreactivations, (long)rows * g * d);
        var dPre = dPreactivations.AsSpan(0, rows * g * d);
        // The gradient w.r.t. each layer's output alternates between two buffers; layer 0 writes dx.
        Span<float> dOutput = dHeadInput;
        for (int i = Config.Layers - 1; i >= 0; i--)
        {
            MinRnnScan.Backward(Config.Cell, Preactivations(i), default, Output(i), dOutput, dPre, default, batch, time, d);
            Span<float> dInput = i == 0 ? dx : (Config.Layers - 1 - i) % 2 == 0 ? gradientA.AsSpan(0, rows * d) : dHeadInput;
            Linear.Backward(Input(i), weights[i].Value, dPre, dInput, weights[i].Gradient, biases[i].Gradient, rows, d, g * d);
            dOutput = dInput;
        }
    }

    // Layer 0 projects the embedding itself, so its pre-activations are a function of the token alone.
    protected override float[]? TabulateFirstProjection()
    {
        int v = Config.VocabularySize, d = Config.Dim, g = Config.Cell.Gates();
        var table = new float[v * g * d];
        Linear.Forward(EmbeddingTable, weights[0].Value, biases[0].Value, table, v, d, g * d);
        return table;
    }

    ReadOnlySpan<float> Input(int layer) => layer == 0 ? Embedded : Output(layer - 1);
    Span<float> Output(int layer) => outputs[layer].AsSpan(0, batch * time * Config.Dim);
    Span<float> Preactivations(int layer) => preactivations[layer].AsSpan(0, batch * time * Config.Cell.Gates() * Config.Dim);
}
