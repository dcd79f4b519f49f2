using MinRnn.Kernels;

namespace MinRnn.Data;

/// <summary>
/// The fixed validation set of the <see cref="SelectiveCopyTask"/>: sequence i is drawn from a stream of its own, seeded
/// by i and a constant that no training seed changes, so every run of a task, whatever its seed, and every later
/// <c>minrnn eval</c> score the same sequences, made when they are read rather than stored (12,800 × 4,112 ids would be
/// 210 MB).
/// </summary>
internal sealed class SelectiveCopyValidation : IValidationSet
{
    const string Name = "selective-copy validation";

    /// <summary>The seed of the validation streams: an arbitrary constant, fixed for good (changing it changes every score).</summary>
    const ulong Seed = 0x5E1EC7_C0B7_5A1D;

    readonly SelectiveCopyTask task;
    readonly int[] positions;

    /// <summary>The <see cref="SelectiveCopyTask.ValidationSequences"/> sequences of <paramref name="task"/>.</summary>
    public SelectiveCopyValidation(SelectiveCopyTask task)
    {
        this.task = task.Validated();
        positions = new int[task.Tokens];
    }

    /// <summary>L + M.</summary>
    public int Length => task.SequenceLength;

    /// <summary>M: the markers.</summary>
    public int Scored => task.Tokens;

    /// <inheritdoc/>
    public int Count => task.ValidationSequences;

    /// <inheritdoc/>
    public long Positions => (long)Count * Scored;

    /// <inheritdoc/>
    public int Fill(int first, Span<int> inputs, Span<int> targets)
    {
        int capacity = BatchShape.Rows(Name, Length, Scored, inputs.Length, targets.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(first, Count);
        int rows = Math.Min(capacity, Count - first);
        for (int r = 0; r < rows; r++)
        {
            var random = new SplitMix64(CounterRandom.Bits(Seed, first + r));
            SelectiveCopySequence.Write(task, ref random, inputs.Slice(r * Length, Length), targets.Slice(r * Scored, Scored), positions);
        }
        return rows;
    }
}
