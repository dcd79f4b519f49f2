namespace MinRnn.Data;

/// <summary>
/// A fixed, ordered set of validation sequences of T inputs whose last P positions carry a target; the loss and the
/// accuracy are means over all <see cref="Positions"/>, each sequence starting from a zero state.
/// </summary>
internal interface IValidationSet
{
    /// <summary>T: the inputs of one sequence.</summary>
    int Length { get; }

    /// <summary>P: the last P positions of each sequence carry a target.</summary>
    int Scored { get; }

    /// <summary>The number of sequences.</summary>
    int Count { get; }

    /// <summary>The number of scored positions, Count · P: the denominator of the loss and the accuracy.</summary>
    long Positions { get; }

    /// <summary>
    /// Copies sequences <paramref name="first"/>, first + 1, … into a batch of B = inputs.Length / T rows (inputs [B, T],
    /// targets [B, P]), stopping at the last sequence; returns how many rows it filled.
    /// </summary>
    /// <exception cref="ArgumentException">The spans are not B·T and B·P elements for a positive B.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="first"/> is outside [0, Count).</exception>
    int Fill(int first, Span<int> inputs, Span<int> targets);
}
