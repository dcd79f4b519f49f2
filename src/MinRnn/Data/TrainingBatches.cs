using MinRnn.Kernels;

namespace MinRnn.Data;

/// <summary>
/// Random training windows: each is context + 1 consecutive tokens of the train split, starting at a
/// uniform position, giving inputs w[0..C) and targets w[1..C]. The positions come from a seeded
/// <see cref="SplitMix64"/>, so the same seed gives the same batches and restoring <see cref="State"/>
/// resumes the stream exactly.
/// </summary>
internal sealed class TrainingBatches : ISequenceSampler
{
    const string Name = "training batches";

    readonly ReadOnlyMemory<int> train;
    SplitMix64 random;

    /// <summary>Windows of <paramref name="context"/> + 1 tokens from <paramref name="train"/>, positions drawn from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">The context is not positive or the split is shorter than context + 1.</exception>
    public TrainingBatches(ReadOnlyMemory<int> train, int context, ulong seed)
    {
        Check.Positive(Name, ("context", context));
        if (train.Length < context + 1)
            throw new ArgumentException($"{Name}: the train split has {train.Length} tokens, fewer than context + 1 = {context + 1}.");
        this.train = train;
        Context = context;
        random = new SplitMix64(seed);
    }

    /// <summary>The window length C: tokens per sequence in the inputs and in the targets.</summary>
    public int Context { get; }

    /// <summary>C: every position of a window is scored.</summary>
    public int Length => Context;

    /// <inheritdoc cref="Length"/>
    public int Scored => Context;

    /// <summary>The random generator's state; set it to a saved value to continue from that point.</summary>
    public ulong State
    {
        get => random.State;
        set => random.State = value;
    }

    /// <summary>
    /// Fills one batch, B = inputs.Length / C windows in row-major [B, C] order: inputs[b·C + t] =
    /// train[s_b + t] and targets[b·C + t] = train[s_b + t + 1], with s_b uniform in [0, n - C).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or are not a positive multiple of C.</exception>
    public void Next(Span<int> inputs, Span<int> targets)
    {
        int rows = BatchShape.Rows(Name, Context, inputs.Length, targets.Length);
        var tokens = train.Span;
        int starts = tokens.Length - Context; // the last window starts at n - C - 1
        for (int r = 0; r < rows; r++)
        {
            var window = tokens.Slice(random.NextInt(starts), Context + 1);
            window[..Context].CopyTo(inputs.Slice(r * Context, Context));
            window[1..].CopyTo(targets.Slice(r * Context, Context));
        }
    }
}
