using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The plain architecture with PyTorch's GRU or LSTM cells (the paper's baselines). Layer i is one
/// single-layer nn.GRU / nn.LSTM (batch_first) named layers.{i}.rnn, so a checkpoint loads into a
/// ModuleList of them; after the input map of all steps, the recurrence runs step by step
/// (<see cref="ClassicRnn"/>) and is trained by backpropagation through time.
/// </summary>
internal sealed class ClassicModel : PlainModel
{
    readonly Parameter[] recurrentWeights, recurrentBiases;
    readonly ClassicRnnActivations[] activations;

    public ClassicModel(ModelConfig config) : base(config)
    {
        int l = config.Layers, d = config.Dim, g = config.Cell.Gates();
        recurrentWeights = new Parameter[l];
        recurrentBiases = new Parameter[l];
        for (int i = 0; i < l; i++)
        {
            string p = $"layers.{i}.rnn.";
            InputWeights[i] = AddParameter(p + "weight_ih_l0", [g * d, d], decay: true);
            recurrentWeights[i] = AddParameter(p + "weight_hh_l0", [g * d, d], decay: true);
            InputBiases[i] = AddParameter(p + "bias_ih_l0", [g * d], decay: false);
            recurrentBiases[i] = AddParameter(p + "bias_hh_l0", [g * d], decay: false);
        }
        AddHead();
        activations = Enumerable.Range(0, l).Select(_ => new ClassicRnnActivations()).ToArray();
    }

    protected override long CellFloatsPerRow() => ClassicRnnActivations.FloatsPerToken(Config.Cell, Config.Dim);

    protected override void CellForward(int layer, ReadOnlySpan<float> preactivations, Span<float> output, RecurrentState? state)
    {
        int d = Config.Dim;
        // Packed once per forward: every step multiplies the whole batch by W_hh.
        var recurrent = Stepping?[recurrentWeights[layer]] ?? PackedMatrix.Pack(recurrentWeights[layer].Value, Config.Cell.Gates() * d, d);
        ClassicRnn.Forward(Config.Cell, preactivations, recurrent, recurrentBiases[layer].Value, state is null ? default : state.Hidden[layer],
            state is null ? default : state.Cells[layer], output, activations[layer], Batch, Time, d);
        state?.KeepLast(layer, activations[layer], Time);
    }

    protected override void CellBackward(int layer, ReadOnlySpan<float> preactivations, ReadOnlySpan<float> output, Span<float> dOutput, Span<float> dPreactivations) =>
        ClassicRnn.Backward(Config.Cell, recurrentWeights[layer].Value, dOutput, dPreactivations, recurrentWeights[layer].Gradient,
            recurrentBiases[layer].Gradient, activations[layer], Batch, Time, Config.Dim);
}
