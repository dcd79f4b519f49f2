namespace MinRnn.Data;

/// <summary>
/// The <see cref="SelectiveCopyTask"/>: fresh sequences every step (<see cref="SelectiveCopyBatches"/>), its fixed
/// validation set, and — as the paper's authors choose it — the best evaluation is the one of highest accuracy.
/// </summary>
internal sealed class SelectiveCopySource(SelectiveCopyTask task) : DataSource
{
    /// <summary>The task.</summary>
    public SelectiveCopyTask Task { get; } = task.Validated();

    public override int VocabularySize => Task.VocabularySize;

    public override string DescribeVocabulary() => $"the {SelectiveCopyTask.TaskName} task has {Task.VocabularySize} tokens";

    /// <summary>L + M; the options' context must say the same, since a task's sequences have the length the task gives them.</summary>
    public override int SequenceLength(TrainingOptions options)
    {
        if (options.Context != Task.SequenceLength)
            throw new ArgumentException($"the {SelectiveCopyTask.TaskName} task's sequences are --copy-length + --copy-tokens = {Task.SequenceLength} long, but the context is {options.Context}.");
        return Task.SequenceLength;
    }

    /// <summary>M: the markers, at which the data tokens are recalled.</summary>
    public override int ScoredPositions(TrainingOptions options) => Task.Tokens;

    public override ISequenceSampler Sampler(TrainingOptions options)
    {
        SequenceLength(options);
        return new SelectiveCopyBatches(Task, options.Seed);
    }

    public override IValidationSet Validation(TrainingOptions options) => new SelectiveCopyValidation(Task);

    public override bool BestByAccuracy => true;
}
