using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The plain architecture with the minimal cells: layer i's pre-activations (layers.{i}.gate_hidden for
/// minGRU, gates_hidden for minLSTM) go through the scan (<see cref="MinRnnScan"/>).
/// </summary>
internal sealed class MinCellModel : PlainModel
{
    public MinCellModel(ModelConfig config) : base(config)
    {
        int d = config.Dim, g = config.Cell.Gates();
        string name = config.Cell == RecurrentCell.MinGru ? "gate_hidden" : "gates_hidden";
        for (int i = 0; i < config.Layers; i++)
        {
            InputWeights[i] = AddParameter($"layers.{i}.{name}.weight", [g * d, d], decay: true);
            InputBiases[i] = AddParameter($"layers.{i}.{name}.bias", [g * d], decay: false);
        }
        AddHead();
    }

    protected override long CellFloatsPerRow() => 0;

    protected override void CellForward(int layer, ReadOnlySpan<float> preactivations, Span<float> output, RecurrentState? state)
    {
        MinRnnScan.Forward(Config.Cell, Scan, preactivations, state is null ? default : state.Hidden[layer], output, Batch, Time, Config.Dim);
        state?.KeepLastHidden(layer, output, Time);
    }

    protected override void CellBackward(int layer, ReadOnlySpan<float> preactivations, ReadOnlySpan<float> output, Span<float> dOutput, Span<float> dPreactivations) =>
        MinRnnScan.Backward(Config.Cell, preactivations, default, output, dOutput, dPreactivations, default, Batch, Time, Config.Dim);
}
