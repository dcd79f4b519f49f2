using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The plain architecture with PyTorch's GRU or LSTM cells (the paper's baselines): x_0 = embedding,
/// x_{i+1} = rnn_i(x_i) with H = D, logits = head(x_L). Layer i is one single-layer nn.GRU / nn.LSTM
/// (batch_first) named layers.{i}.rnn, so a checkpoint loads into a ModuleList of them. The input products
/// of all steps are one GEMM; the recurrence runs step by step (<see cref="ClassicRnn"/>).
/// </summary>
internal sealed class ClassicModel : LanguageModel
{
    readonly Parameter[] inputWeights, recurrentWeights, inputBiases, recurrentBiases;
    readonly ClassicRnnActivations[] activations;
    readonly float[][] preactivations, outputs;
    float[] gradientA = [], dPreactivations = [];
    int batch, time;

    public ClassicModel(ModelConfig config) : base(config)
    {
        int l = config.Layers, d = config.Dim, g = config.Cell.Gates();
        inputWeights = new Parameter[l]; recurrentWeights = new Parameter[l];
        inputBiases = new Parameter[l]; recurrentBiases = new Parameter[l];
        for (int i = 0; i < l; i++)
        {
            string p = $"layers.{i}.rnn.";
            inputWeights[i] = AddParameter(p + "weight_ih_l0", [g * d, d], decay: true);
            recurrentWeights[i] = AddParameter(p + "weight_hh_l0", [g * d, d], decay: true);
            inputBiases[i] = AddParameter(p + "bias_ih_l0", [g * d], decay: false);
            recurrentBiases[i] = AddParameter(p + "bias_hh_l0", [g * d], decay: false);
        }
        AddHead();
        activations = Enumerable.Range(0, l).Select(_ => new ClassicRnnActivations()).ToArray();
        preactivations = new float[l][];
        outputs = new float[l][];
        for (int i = 0; i < l; i++) { preactivations[i] = []; outputs[i] = []; }
    }

    // Per layer: input pre-activations, output and the cell's own activations; in backward one more
    // gradient row and the input pre-activation gradients.
    protected override long BodyFloatsPerRow()
    {
        long d = Config.Dim, g = Config.Cell.Gates();
        return Config.Layers * (g * d + d + ClassicRnnActivations.FloatsPerToken(Config.Cell, Config.Dim)) + d + g * d;
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
            Project(Input(i), inputWeights[i], inputBiases[i], Preactivations(i), rows);
            var recurrent = Stepping?[recurrentWeights[i]] ?? Kernels.PackedMatrix.Pack(recurrentWeights[i].Value, g * d, d);
            ClassicRnn.Forward(Config.Cell, Preactivations(i), recurrent, recurrentBiases[i].Value,
                state is null ? default : state.Hidden[i], state is null ? default : state.Cells[i], Output(i), activations[i], batch, time, d);
            state?.KeepLast(i, activations[i], time);
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
            ClassicRnn.Backward(Config.Cell, recurrentWeights[i].Value, dOutput, dPre, recurrentWeights[i].Gradient, recurrentBiases[i].Gradient,
                activations[i], batch, time, d);
            Span<float> dInput = i == 0 ? dx : (Config.Layers - 1 - i) % 2 == 0 ? gradientA.AsSpan(0, rows * d) : dHeadInput;
            Linear.Backward(Input(i), inputWeights[i].Value, dPre, dInput, inputWeights[i].Gradient, inputBiases[i].Gradient, rows, d, g * d);
            dOutput = dInput;
        }
    }

    ReadOnlySpan<float> Input(int layer) => layer == 0 ? Embedded : Output(layer - 1);
    Span<float> Output(int layer) => outputs[layer].AsSpan(0, batch * time * Config.Dim);
    Span<float> Preactivations(int layer) => preactivations[layer].AsSpan(0, batch * time * Config.Cell.Gates() * Config.Dim);
}
