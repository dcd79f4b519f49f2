namespace MinRnn;

/// <summary>The two model shapes of spec §3.</summary>
public enum Architecture
{
    /// <summary>Embed → L cells (D → D) → Linear: the seed's model.</summary>
    Plain,
    /// <summary>The paper's language-model block: conv, minRNN, MLP, residual connections and RMSNorm.</summary>
    Residual,
    /// <summary>nanoGPT's GPT (spec §6): learned positions, pre-LayerNorm blocks of causal self-attention and an MLP, head tied to the embedding.</summary>
    Transformer,
}
