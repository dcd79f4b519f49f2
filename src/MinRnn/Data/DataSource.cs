namespace MinRnn.Data;

/// <summary>
/// What a run learns from: its vocabulary, a seeded stream of training sequences, a fixed validation set, and how the
/// best evaluation is chosen. <see cref="CorpusSource"/> is a text's (the language model); <see cref="SelectiveCopySource"/>
/// a synthetic task's.
/// </summary>
internal abstract class DataSource
{
    /// <summary>V: the token ids the sequences use.</summary>
    public abstract int VocabularySize { get; }

    /// <summary>Says what the vocabulary is, for a message about a model whose vocabulary differs: "the corpus has 65 distinct characters".</summary>
    public abstract string DescribeVocabulary();

    /// <summary>T: the inputs of a sequence, for a run of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The options do not fit this source.</exception>
    public abstract int SequenceLength(TrainingOptions options);

    /// <summary>P: the last P positions of each sequence carry a target, in a run of <paramref name="options"/>.</summary>
    public abstract int ScoredPositions(TrainingOptions options);

    /// <summary>The training sequences of a run of <paramref name="options"/>, drawn from its seed.</summary>
    /// <exception cref="ArgumentException">The options do not fit this source.</exception>
    /// <exception cref="InvalidDataException">The data is too short for the options.</exception>
    public abstract ISequenceSampler Sampler(TrainingOptions options);

    /// <summary>The validation set of a run of <paramref name="options"/>.</summary>
    public abstract IValidationSet Validation(TrainingOptions options);

    /// <summary>
    /// Whether the best evaluation is the one of highest accuracy (ties to the lower loss), as for a task that is solved
    /// or not; else the one of lowest loss.
    /// </summary>
    public abstract bool BestByAccuracy { get; }
}
