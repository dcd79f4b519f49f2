using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>The model and optimisation flags of <c>minrnn train</c>; null means "not given".</summary>
internal sealed record TrainFlags
{
    public RecurrentCell? Cell { get; init; }
    public Architecture? Architecture { get; init; }
    public int? Layers { get; init; }
    public int? Dim { get; init; }
    public double? Expansion { get; init; }
    public int? Conv { get; init; }
    public int? Mlp { get; init; }
    public float? Dropout { get; init; }
    public int? Heads { get; init; }
    public int? State { get; init; }
    public string? Task { get; init; }
    public int? CopyLength { get; init; }
    public int? CopyTokens { get; init; }
    public int? CopyVocab { get; init; }
    public int? CopyValidation { get; init; }
    public int? Batch { get; init; }
    public int? GradAccum { get; init; }
    public int? Context { get; init; }
    public int? Steps { get; init; }
    public double? LearningRate { get; init; }
    public double? MinLearningRate { get; init; }
    public int? Warmup { get; init; }
    public int? DecaySteps { get; init; }
    public int? Patience { get; init; }
    public double? WeightDecay { get; init; }
    public double? Beta2 { get; init; }
    public double? Clip { get; init; }
    public double? Ema { get; init; }
    public int? EvalEvery { get; init; }
    public ulong? Seed { get; init; }

    /// <summary>
    /// The model shape with the given flags applied over <paramref name="baseline"/>; a mamba made from a preset of
    /// another architecture gets the default state size unless --state is given.
    /// </summary>
    public ModelConfig Apply(ModelConfig baseline) => baseline with
    {
        Cell = Cell ?? baseline.Cell,
        Architecture = Architecture ?? baseline.Architecture,
        State = State ?? ((Architecture ?? baseline.Architecture) == MinRnn.Architecture.Mamba && baseline.State == 0 ? ModelConfig.DefaultState : baseline.State),
        Layers = Layers ?? baseline.Layers,
        Dim = Dim ?? baseline.Dim,
        Expansion = Expansion ?? baseline.Expansion,
        ConvKernel = Conv ?? baseline.ConvKernel,
        MlpMultiplier = Mlp ?? baseline.MlpMultiplier,
        Dropout = Dropout ?? baseline.Dropout,
        Heads = Heads ?? baseline.Heads,
    };

    /// <summary>
    /// The task with the given flags applied over <paramref name="baseline"/> (a preset's or a run's): --task
    /// selective-copy starts from the paper's task when there is none; null when there is no task at all.
    /// </summary>
    /// <exception cref="UsageException">A --copy-* flag is given without a task.</exception>
    public SelectiveCopyTask? Apply(SelectiveCopyTask? baseline)
    {
        var task = baseline ?? (Task is not null ? new SelectiveCopyTask() : null);
        if (task is null)
        {
            if (new[] { ("--copy-length", CopyLength), ("--copy-tokens", CopyTokens), ("--copy-vocab", CopyVocab), ("--copy-validation", CopyValidation) }
                    .FirstOrDefault(f => f.Item2 is not null) is ({ } flag, _))
                throw new UsageException($"{flag} applies to --task {SelectiveCopyTask.TaskName} only.");
            return null;
        }
        return task with
        {
            Length = CopyLength ?? task.Length,
            Tokens = CopyTokens ?? task.Tokens,
            VocabularySize = CopyVocab ?? task.VocabularySize,
            ValidationSequences = CopyValidation ?? task.ValidationSequences,
        };
    }

    /// <summary>The optimisation settings with the given flags applied over <paramref name="baseline"/>.</summary>
    public TrainingOptions Apply(TrainingOptions baseline)
    {
        var options = baseline with
        {
            Batch = Batch ?? baseline.Batch,
            GradientAccumulation = GradAccum ?? baseline.GradientAccumulation,
            Context = Context ?? baseline.Context,
            Steps = Steps ?? baseline.Steps,
            LearningRate = LearningRate ?? baseline.LearningRate,
            MinLearningRate = MinLearningRate ?? baseline.MinLearningRate,
            WarmupSteps = Warmup ?? baseline.WarmupSteps,
            DecaySteps = DecaySteps ?? baseline.DecaySteps,
            Patience = Patience ?? baseline.Patience,
            WeightDecay = WeightDecay ?? baseline.WeightDecay,
            Beta2 = Beta2 ?? baseline.Beta2,
            Clip = Clip ?? baseline.Clip,
            EmaDecay = Ema ?? baseline.EmaDecay,
            EvalEvery = EvalEvery ?? baseline.EvalEvery,
            Seed = Seed ?? baseline.Seed,
        };
        // A lower --lr than the preset's minimum would make the schedule rise: follow it down unless --min-lr is given.
        if (LearningRate is not null && MinLearningRate is null && options.MinLearningRate > options.LearningRate)
            options = options with { MinLearningRate = options.LearningRate / 10 };
        return options;
    }
}
