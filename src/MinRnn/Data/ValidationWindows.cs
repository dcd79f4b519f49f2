using MinRnn.Kernels;

namespace MinRnn.Data;

/// <summary>
/// The validation windows of spec §4: consecutive, non-overlapping in their inputs, window w =
/// val[w·C .. w·C + C] (C + 1 tokens, so neighbours share one boundary token), for
/// w = 0 .. floor((n - 1) / C) - 1. The loss is the mean cross-entropy over all
/// <see cref="Positions"/>, each window starting from h_0 = 0.
/// </summary>
internal sealed class ValidationWindows : IValidationSet
{
    const string Name = "validation windows";

    readonly ReadOnlyMemory<int> validation;

    /// <summary>The windows of <paramref name="context"/> + 1 tokens in <paramref name="validation"/>.</summary>
    /// <exception cref="ArgumentException">The context is not positive or the split holds no window.</exception>
    public ValidationWindows(ReadOnlyMemory<int> validation, int context)
    {
        Check.Positive(Name, ("context", context));
        Count = CountFor(validation.Length, context);
        if (Count == 0)
            throw new ArgumentException($"{Name}: the validation split has {validation.Length} tokens, fewer than context + 1 = {context + 1}.");
        this.validation = validation;
        Context = context;
    }

    /// <summary>The window length C: predicted positions per window.</summary>
    public int Context { get; }

    /// <summary>C: every position of a window is scored.</summary>
    public int Length => Context;

    /// <inheritdoc cref="Length"/>
    public int Scored => Context;

    /// <summary>The number of windows, floor((n - 1) / C).</summary>
    public int Count { get; }

    /// <summary>The number of predicted positions, Count · C: the loss's denominator.</summary>
    public long Positions => (long)Count * Context;

    /// <summary>floor((n - 1) / C) windows for a split of <paramref name="length"/> tokens (0 when it is empty).</summary>
    public static int CountFor(int length, int context) => length < 1 ? 0 : (length - 1) / context;

    /// <summary>The inputs of window <paramref name="window"/>: val[w·C .. w·C + C).</summary>
    public ReadOnlySpan<int> Inputs(int window) => validation.Span.Slice(Start(window), Context);

    /// <summary>The targets of window <paramref name="window"/>: val[w·C + 1 .. w·C + C].</summary>
    public ReadOnlySpan<int> Targets(int window) => validation.Span.Slice(Start(window) + 1, Context);

    /// <summary>
    /// Copies windows <paramref name="first"/>, first + 1, … into a batch of B = inputs.Length / C rows
    /// ([B, C] row-major), stopping at the last window; returns how many rows it filled.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or are not a positive multiple of C.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="first"/> is outside [0, Count).</exception>
    public int Fill(int first, Span<int> inputs, Span<int> targets)
    {
        int capacity = BatchShape.Rows(Name, Context, inputs.Length, targets.Length);
        CheckWindow(first);
        int rows = Math.Min(capacity, Count - first);
        for (int r = 0; r < rows; r++)
        {
            Inputs(first + r).CopyTo(inputs.Slice(r * Context, Context));
            Targets(first + r).CopyTo(targets.Slice(r * Context, Context));
        }
        return rows;
    }

    int Start(int window)
    {
        CheckWindow(window);
        return window * Context;
    }

    void CheckWindow(int window)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(window);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(window, Count);
    }
}
