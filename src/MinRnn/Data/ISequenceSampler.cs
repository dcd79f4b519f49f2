namespace MinRnn.Data;

/// <summary>
/// A seeded stream of training sequences: each batch is inputs [B, T] and the targets of the last P positions of each
/// sequence, [B, P] (P = T for a language model, whose every position predicts the next token).
/// </summary>
internal interface ISequenceSampler
{
    /// <summary>T: the inputs of one sequence.</summary>
    int Length { get; }

    /// <summary>P: the last P positions of each sequence carry a target.</summary>
    int Scored { get; }

    /// <summary>The generator's state; set it to a saved value to continue the stream from that point.</summary>
    ulong State { get; set; }

    /// <summary>Fills the next B = inputs.Length / T sequences.</summary>
    /// <exception cref="ArgumentException">The spans are not B·T and B·P elements for a positive B.</exception>
    void Next(Span<int> inputs, Span<int> targets);
}
