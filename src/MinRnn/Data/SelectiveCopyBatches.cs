namespace MinRnn.Data;

/// <summary>
/// Fresh training sequences of the <see cref="SelectiveCopyTask"/>, every one drawn from one seeded
/// <see cref="SplitMix64"/>: the same seed gives the same batches, and restoring <see cref="State"/> resumes the stream.
/// </summary>
internal sealed class SelectiveCopyBatches : ISequenceSampler
{
    const string Name = "selective-copy batches";

    readonly SelectiveCopyTask task;
    readonly int[] positions;
    SplitMix64 random;

    /// <summary>Sequences of <paramref name="task"/> drawn from <paramref name="seed"/>.</summary>
    public SelectiveCopyBatches(SelectiveCopyTask task, ulong seed)
    {
        this.task = task.Validated();
        positions = new int[task.Tokens];
        random = new SplitMix64(seed);
    }

    /// <summary>L + M.</summary>
    public int Length => task.SequenceLength;

    /// <summary>M: the markers.</summary>
    public int Scored => task.Tokens;

    /// <inheritdoc/>
    public ulong State
    {
        get => random.State;
        set => random.State = value;
    }

    /// <inheritdoc/>
    public void Next(Span<int> inputs, Span<int> targets)
    {
        int rows = BatchShape.Rows(Name, Length, Scored, inputs.Length, targets.Length);
        for (int r = 0; r < rows; r++)
            SelectiveCopySequence.Write(task, ref random, inputs.Slice(r * Length, Length), targets.Slice(r * Scored, Scored), positions);
    }
}
