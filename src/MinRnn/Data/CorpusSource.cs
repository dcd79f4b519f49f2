namespace MinRnn.Data;

/// <summary>
/// A text, for a character language model: random windows of the train split (<see cref="TrainingBatches"/>), spec §4's
/// validation windows, and the best evaluation is the one of lowest validation loss.
/// </summary>
internal sealed class CorpusSource(CharCorpus corpus) : DataSource
{
    /// <summary>The text.</summary>
    public CharCorpus Corpus => corpus;

    public override int VocabularySize => corpus.Vocabulary.Count;

    public override string DescribeVocabulary() => $"the corpus has {corpus.Vocabulary.Count} distinct characters";

    /// <summary>The context: windows of C inputs.</summary>
    public override int SequenceLength(TrainingOptions options) => options.Context;

    /// <summary>C: every position of a window predicts the next character.</summary>
    public override int ScoredPositions(TrainingOptions options) => options.Context;

    public override ISequenceSampler Sampler(TrainingOptions options)
    {
        corpus.EnsureFits(options.Context);
        return new TrainingBatches(corpus.Train, options.Context, options.Seed);
    }

    public override IValidationSet Validation(TrainingOptions options) => new ValidationWindows(corpus.Validation, options.Context);

    public override bool BestByAccuracy => false;
}
