namespace MinRnn;

/// <summary>The model shapes: the two of spec §3 and the baselines of spec §6.</summary>
public enum Architecture
{
    /// <summary>Embed → L cells (D → D) → Linear: the seed's model.</summary>
    Plain,
    /// <summary>The paper's language-model block: conv, minRNN, MLP, residual connections and RMSNorm.</summary>
    Residual,
    /// <summary>nanoGPT's GPT (spec §6): learned positions, pre-LayerNorm blocks of causal self-attention and an MLP, head tied to the embedding.</summary>
    Transformer,
    /// <summary>mamba-minimal's Mamba (spec §6): pre-RMSNorm blocks of in_proj, causal conv, SiLU, the selective state-space scan gated by SiLU(z), out_proj; head tied to the embedding.</summary>
    Mamba,
}
