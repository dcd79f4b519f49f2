using System.Globalization;
using MinRnn.Layers;

namespace MinRnn;

/// <summary>
/// Everything that fixes a model's parameter shapes (spec §3). It round-trips through a checkpoint's
/// string metadata, so a checkpoint file alone rebuilds the model.
/// </summary>
/// <param name="Architecture">Plain, residual, transformer or mamba.</param>
/// <param name="Cell">minGRU or minLSTM; GRU or LSTM with the plain architecture; unused by the transformer and mamba.</param>
/// <param name="VocabularySize">V: number of distinct characters.</param>
/// <param name="Dim">D: the model width.</param>
/// <param name="Layers">L: cells (plain) or blocks (residual).</param>
/// <param name="Expansion">E: residual cell width H = round(E·D); mamba's inner width d_inner = int(E·D) (mamba-minimal's); plain models use H = D.</param>
/// <param name="ConvKernel">K: depthwise causal conv kernel of a residual block (0 for none) or of a mamba block (at least 1).</param>
/// <param name="MlpMultiplier">M: the residual and transformer blocks' MLP has M·D hidden units; 0 leaves the MLP (and the norm
/// before it) out of the residual block.</param>
/// <param name="Dropout">Training-time dropout on the embedding and on each residual branch (and the transformer's attention).</param>
/// <param name="Heads">The transformer's attention heads; they must divide D. 0 for the recurrent models.</param>
/// <param name="BlockSize">C: the transformer's longest context, the rows of its position embedding. 0 for the recurrent models.</param>
/// <param name="State">N: mamba's state size per inner channel (its selective scan's state is [d_inner, N]). 0 for the other models.</param>
public sealed record ModelConfig(Architecture Architecture, RecurrentCell Cell, int VocabularySize, int Dim, int Layers,
    double Expansion = 1, int ConvKernel = 0, int MlpMultiplier = 4, float Dropout = 0, int Heads = 0, int BlockSize = 0, int State = 0)
{
    /// <summary>The state size mamba's blocks get when none is given, as in mamba-minimal and state-spaces/mamba.</summary>
    public const int DefaultState = 16;

    /// <summary>H: the cell's hidden width; for mamba its inner width d_inner = int(E·D), truncated as mamba-minimal's ModelArgs does.</summary>
    public int Hidden => Architecture switch
    {
        Architecture.Residual => (int)Math.Round(Expansion * Dim, MidpointRounding.AwayFromZero),
        Architecture.Mamba => (int)(Expansion * Dim),
        _ => Dim,
    };

    /// <summary>Mamba's dt_rank = ceil(D / 16): the width of the low-rank projection that gives Δ (0 for the other models).</summary>
    public int DtRank => Architecture == Architecture.Mamba ? (Dim + 15) / 16 : 0;

    /// <summary>Throws <see cref="ArgumentException"/> with one line naming the first invalid value.</summary>
    public ModelConfig Validated()
    {
        if (VocabularySize < 2) throw new ArgumentException($"vocabulary size must be at least 2, got {VocabularySize}.");
        if (Dim < 1) throw new ArgumentException($"--dim must be at least 1, got {Dim}.");
        if (Layers < 1) throw new ArgumentException($"--layers must be at least 1, got {Layers}.");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"--dropout must be in [0, 1), got {Dropout}.");
        if (Architecture == Architecture.Transformer)
        {
            if (Heads < 1 || Dim % Heads != 0) throw new ArgumentException($"--heads must divide --dim ({Dim}) into equal heads, got {Heads}.");
            if (BlockSize < 1) throw new ArgumentException($"the transformer's block size (its longest context) must be at least 1, got {BlockSize}.");
            if (MlpMultiplier < 1) throw new ArgumentException($"--mlp must be at least 1, got {MlpMultiplier}.");
            return this;
        }
        if (Architecture == Architecture.Mamba)
        {
            if (!(Expansion > 0) || Hidden < 1) throw new ArgumentException($"--expansion must give mamba an inner width d_inner = int(E·D) of at least 1, got {Expansion}.");
            if (State < 1) throw new ArgumentException($"--state must be at least 1, got {State}.");
            if (ConvKernel < 1) throw new ArgumentException($"--conv must be at least 1 for mamba (its block always has the causal conv), got {ConvKernel}.");
            return this;
        }
        if (Architecture == Architecture.Residual && !Cell.IsMinimal())
            throw new ArgumentException($"the {Cell.Name()} cell is available with the plain architecture only (--arch plain).");
        if (Architecture == Architecture.Residual)
        {
            if (!(Expansion > 0) || Hidden < 1) throw new ArgumentException($"--expansion must give a hidden width of at least 1, got {Expansion}.");
            if (ConvKernel < 0) throw new ArgumentException($"--conv must be 0 (none) or a positive kernel size, got {ConvKernel}.");
            if (MlpMultiplier < 0) throw new ArgumentException($"--mlp must be 0 (none) or a positive multiplier, got {MlpMultiplier}.");
        }
        return this;
    }

    /// <summary>
    /// The number of trainable scalars of this configuration's model, from the shapes of spec §5 alone, so that
    /// a model too large for memory can be refused before any of it is allocated.
    /// </summary>
    public long ParameterCount()
    {
        long v = VocabularySize, d = Dim, h = Hidden, g = Cell.Gates(), m = (long)MlpMultiplier * d, k = ConvKernel;
        // wte (tied to the head), wpe, per block ln_1, c_attn, c_proj, ln_2, c_fc, c_proj; ln_f.
        if (Architecture == Architecture.Transformer) return v * d + (long)BlockSize * d + Layers * (d + 3 * d * d + d * d + d + 2 * m * d) + d;
        // embedding (tied to the head); per block norm, in_proj, conv1d (+ bias), x_proj, dt_proj (+ bias), A_log, D, out_proj; norm_f.
        if (Architecture == Architecture.Mamba)
        {
            long r = DtRank, n = State;
            return v * d + Layers * (d + 2 * h * d + (h * k + h) + (r + 2 * n) * h + (h * r + h) + h * n + h + d * h) + d;
        }
        long layer = Architecture == Architecture.Residual
            ? (k > 0 ? d * k + d : 0) + d + (g * h * d + g * h) + (d * h + d) + (m > 0 ? d + (m * d + m) + (d * m + d) : 0)
            : (Cell.IsMinimal() ? 1 : 2) * (g * d * d + g * d);
        return v * d + Layers * layer + (Architecture == Architecture.Residual ? d : 0) + (v * d + v);
    }

    /// <summary>The configuration as checkpoint metadata entries.</summary>
    internal IReadOnlyDictionary<string, string> ToMetadata()
    {
        var metadata = RecurrentMetadata();
        if (Architecture == Architecture.Transformer)
        {
            metadata["heads"] = Invariant(Heads);
            metadata["block_size"] = Invariant(BlockSize);
        }
        if (Architecture == Architecture.Mamba)
        {
            metadata["state"] = Invariant(State);
            metadata["dt_rank"] = Invariant(DtRank);
        }
        return metadata;
    }

    Dictionary<string, string> RecurrentMetadata() => new()
    {
        ["architecture"] = Architecture.ToString().ToLowerInvariant(),
        ["cell"] = Cell.Name(),
        ["vocab_size"] = Invariant(VocabularySize),
        ["dim"] = Invariant(Dim),
        ["layers"] = Invariant(Layers),
        ["expansion"] = Expansion.ToString("R", CultureInfo.InvariantCulture),
        ["hidden"] = Invariant(Hidden),
        ["conv_kernel"] = Invariant(ConvKernel),
        ["mlp_multiplier"] = Invariant(MlpMultiplier),
        ["dropout"] = Dropout.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Rebuilds a configuration from checkpoint metadata.</summary>
    /// <exception cref="InvalidDataException">A key is missing or a value does not parse.</exception>
    internal static ModelConfig FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        string Get(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"metadata has no \"{key}\".");
        int Int(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new InvalidDataException($"metadata \"{key}\" is not an integer: \"{Get(key)}\".");
        double Real(string key) => double.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new InvalidDataException($"metadata \"{key}\" is not a number: \"{Get(key)}\".");
        var architecture = ParseArchitecture(Get("architecture")) ?? throw new InvalidDataException($"unknown architecture \"{Get("architecture")}\".");
        var cell = RecurrentCells.Parse(Get("cell")) ?? throw new InvalidDataException($"unknown cell \"{Get("cell")}\".");
        try
        {
            bool transformer = architecture == Architecture.Transformer;
            return new ModelConfig(architecture, cell, Int("vocab_size"), Int("dim"), Int("layers"), Real("expansion"),
                Int("conv_kernel"), Int("mlp_multiplier"), (float)Real("dropout"), transformer ? Int("heads") : 0, transformer ? Int("block_size") : 0,
                architecture == Architecture.Mamba ? Int("state") : 0).Validated();
        }
        catch (ArgumentException e) { throw new InvalidDataException($"invalid configuration in metadata: {e.Message}"); }
    }

    /// <summary>"plain", "residual", "transformer" or "mamba" (case-insensitive), else null.</summary>
    internal static Architecture? ParseArchitecture(string text) => text.ToLowerInvariant() switch
    {
        "plain" => Architecture.Plain,
        "residual" => Architecture.Residual,
        "transformer" => Architecture.Transformer,
        "mamba" => Architecture.Mamba,
        _ => null,
    };

    static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
