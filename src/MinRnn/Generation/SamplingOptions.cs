namespace MinRnn;

/// <summary>How the next character is drawn from the model's logits.</summary>
public sealed record SamplingOptions
{
    /// <summary>Softmax temperature; 0 means greedy (always the most likely character).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the K most likely characters (0: all).</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely characters whose probability reaches P (1: all).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the random draws: the same seed gives the same text. Stream i of a batch draws with seed + i.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>Throws <see cref="ArgumentException"/> with one line naming the first invalid value.</summary>
    public SamplingOptions Validated()
    {
        if (!(Temperature >= 0 && double.IsFinite(Temperature))) throw new ArgumentException($"--temperature must be 0 (greedy) or positive, got {Temperature}.");
        if (TopK < 0) throw new ArgumentException($"--top-k must be 0 (off) or positive, got {TopK}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"--top-p must be in (0, 1], got {TopP}.");
        return this;
    }
}
