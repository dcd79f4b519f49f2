using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// What a model carries from one stretch of text to the next, for a batch of independent streams:
/// each cell's last hidden state h [batch, H] (and an LSTM's cell state c [batch, H]) and, for residual
/// blocks with a conv, the conv's last K - 1 inputs [batch, K - 1, D] (oldest first). Its size does not depend on how much text has been
/// read: O(1) memory per stream. A fresh state is all zeros, the h_0 = 0 of training. For the transformer it is its
/// key/value cache instead: the keys and values of the last positions read, at most its block size C of them.
/// </summary>
internal sealed class RecurrentState
{
    /// <summary>A zero state for <paramref name="batch"/> streams of a model with <paramref name="config"/>.</summary>
    public RecurrentState(ModelConfig config, int batch)
    {
        if (batch < 1) throw new ArgumentException($"RecurrentState: batch must be positive, got {batch}.");
        Config = config;
        Batch = batch;
        bool transformer = config.Architecture == Architecture.Transformer;
        int keys = transformer ? batch * config.Dim * CausalAttention.KeyCacheStride(config.BlockSize) : 0;
        int values = transformer ? batch * config.BlockSize * config.Dim : 0;
        Keys = Enumerable.Range(0, config.Layers).Select(_ => new float[keys]).ToArray();
        Values = Enumerable.Range(0, config.Layers).Select(_ => new float[values]).ToArray();
        Lengths = new int[batch];
        Tokens = new int[transformer ? batch * config.BlockSize : 0];
        Hidden = Enumerable.Range(0, config.Layers).Select(_ => new float[transformer ? 0 : batch * config.Hidden]).ToArray();
        int cells = config.Cell == RecurrentCell.Lstm ? batch * config.Hidden : 0;
        Cells = Enumerable.Range(0, config.Layers).Select(_ => new float[cells]).ToArray();
        int history = config.Architecture == Architecture.Residual ? Math.Max(config.ConvKernel - 1, 0) : 0;
        ConvHistory = Enumerable.Range(0, config.Layers).Select(_ => new float[batch * history * config.Dim]).ToArray();
    }

    /// <summary>The model configuration the state belongs to.</summary>
    public ModelConfig Config { get; }

    /// <summary>Number of streams.</summary>
    public int Batch { get; }

    /// <summary>Per layer, h [batch, H] after the last character read.</summary>
    public float[][] Hidden { get; }

    /// <summary>Per layer, an LSTM's cell state c [batch, H] after the last character read (empty for other cells).</summary>
    public float[][] Cells { get; }

    /// <summary>Per layer, the conv's last K - 1 inputs [batch, K - 1, D], oldest first (empty without a conv).</summary>
    public float[][] ConvHistory { get; }

    /// <summary>
    /// The transformer's cache, per layer: the keys of the positions each stream holds, transposed, [batch, D, stride] with
    /// stride <see cref="CausalAttention.KeyCacheStride"/>(C) (empty for the recurrent models).
    /// </summary>
    public float[][] Keys { get; }

    /// <summary>The transformer's cache, per layer: the values [batch, C, D].</summary>
    public float[][] Values { get; }

    /// <summary>The transformer's cache: how many positions each stream holds (at most C).</summary>
    public int[] Lengths { get; }

    /// <summary>The transformer's cache: the tokens of those positions [batch, C], to read again when the context slides.</summary>
    public int[] Tokens { get; }

    /// <summary>Total floats held: constant in the length of the text (for the transformer, bounded by its block size).</summary>
    public long Floats => Hidden.Sum(h => (long)h.Length) + Cells.Sum(c => (long)c.Length) + ConvHistory.Sum(h => (long)h.Length)
                          + Keys.Sum(k => (long)k.Length) + Values.Sum(v => (long)v.Length);

    /// <summary>Back to all zeros (the start of a text).</summary>
    public void Reset()
    {
        foreach (var h in Hidden) Array.Clear(h);
        foreach (var c in Cells) Array.Clear(c);
        foreach (var h in ConvHistory) Array.Clear(h);
        Array.Clear(Lengths);
    }

    /// <summary>
    /// Sets stream <paramref name="stream"/> to stream <paramref name="sourceStream"/> of <paramref name="source"/>, a state
    /// of the same model: every array holds one contiguous block per stream.
    /// </summary>
    public void CopyStream(int stream, RecurrentState source, int sourceStream = 0)
    {
        if (source.Config != Config || (uint)stream >= (uint)Batch || (uint)sourceStream >= (uint)source.Batch)
            throw new ArgumentException($"RecurrentState.CopyStream: need a state of the same model and streams in range, got stream {stream} of {Batch} from {sourceStream} of {source.Batch}.");
        Copy(source.Hidden, Hidden);
        Copy(source.Cells, Cells);
        Copy(source.ConvHistory, ConvHistory);
        Copy(source.Keys, Keys);
        Copy(source.Values, Values);
        Lengths[stream] = source.Lengths[sourceStream];
        int c = Config.BlockSize;
        if (Tokens.Length > 0) source.Tokens.AsSpan(sourceStream * c, c).CopyTo(Tokens.AsSpan(stream * c, c));

        void Copy(float[][] from, float[][] to)
        {
            for (int layer = 0; layer < from.Length; layer++)
            {
                int block = to[layer].Length / Batch;
                from[layer].AsSpan(sourceStream * block, block).CopyTo(to[layer].AsSpan(stream * block, block));
            }
        }
    }

    /// <summary>Copies a classic cell's h (and c) after the last of <paramref name="time"/> steps into layer <paramref name="layer"/>'s state.</summary>
    internal void KeepLast(int layer, ClassicRnnActivations activations, int time)
    {
        int state = Batch * Config.Hidden;
        activations.Hidden.AsSpan(time * state, state).CopyTo(Hidden[layer]);
        if (Cells[layer].Length > 0) activations.Cells.AsSpan(time * state, state).CopyTo(Cells[layer]);
    }

    /// <summary>Copies h at the last time step of <paramref name="h"/> [batch, time, H] into layer <paramref name="layer"/>'s state.</summary>
    internal void KeepLastHidden(int layer, ReadOnlySpan<float> h, int time)
    {
        int width = Config.Hidden;
        for (int b = 0; b < Batch; b++)
            h.Slice(((b * time) + time - 1) * width, width).CopyTo(Hidden[layer].AsSpan(b * width, width));
    }
}
