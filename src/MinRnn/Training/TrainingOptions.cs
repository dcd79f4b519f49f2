using MinRnn.Training;

namespace MinRnn;

/// <summary>The optimisation settings of a run (the model's shape is in <see cref="ModelConfig"/>).</summary>
public sealed record TrainingOptions
{
    /// <summary>Windows per step.</summary>
    public int Batch { get; init; } = 64;
    /// <summary>Characters per window (the model predicts each next character); for a task, the length of its sequences.</summary>
    public int Context { get; init; } = 256;
    /// <summary>
    /// Micro-batches of <see cref="Batch"/> sequences per optimisation step: their gradients are summed, each scaled so
    /// that the step is that of one batch of all of them, while memory stays that of one micro-batch.
    /// </summary>
    public int GradientAccumulation { get; init; } = 1;
    /// <summary>Optimisation steps.</summary>
    public int Steps { get; init; } = 2000;
    /// <summary>Peak learning rate (AdamW).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Learning rate at the end of the cosine decay, and after it.</summary>
    public double MinLearningRate { get; init; } = 1e-4;
    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>The step at which the cosine decay reaches <see cref="MinLearningRate"/>; 0 means the last step.</summary>
    public int DecaySteps { get; init; }
    /// <summary>
    /// Early stopping: the run ends, after an evaluation, once the best validation loss is this many steps old;
    /// 0 turns it off.
    /// </summary>
    public int Patience { get; init; }
    /// <summary>AdamW's β₂, the decay of its second-moment average (PyTorch's default 0.999; nanoGPT's Shakespeare settings 0.99).</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>AdamW decoupled weight decay (matrices and embeddings only).</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Global gradient-norm clip; 0 turns clipping off.</summary>
    public double Clip { get; init; } = 1.0;
    /// <summary>
    /// Decay β of the exponential moving average of the weights that evaluation and the saved models use
    /// (warmed up as min(β, (1 + t) / (10 + t)) at step t); 0 turns it off, and the last iterate is evaluated.
    /// </summary>
    public double EmaDecay { get; init; }
    /// <summary>Steps between validation evaluations (and the last step always evaluates).</summary>
    public int EvalEvery { get; init; } = 250;
    /// <summary>Seed of initialisation, batch sampling and dropout.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>Throws <see cref="ArgumentException"/> with one line naming the first invalid value.</summary>
    public TrainingOptions Validated()
    {
        if (Batch < 1) throw new ArgumentException($"--batch must be at least 1, got {Batch}.");
        if (Context < 1) throw new ArgumentException($"--context must be at least 1, got {Context}.");
        if (GradientAccumulation < 1) throw new ArgumentException($"--grad-accum must be at least 1 micro-batch per step, got {GradientAccumulation}.");
        if (Steps < 1) throw new ArgumentException($"--steps must be at least 1, got {Steps}.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentException($"--lr must be positive, got {LearningRate}.");
        if (!(MinLearningRate >= 0 && MinLearningRate <= LearningRate))
            throw new ArgumentException($"--min-lr must be between 0 and --lr ({LearningRate}), got {MinLearningRate}.");
        if (WarmupSteps < 0) throw new ArgumentException($"--warmup must be 0 or more, got {WarmupSteps}.");
        if (DecaySteps < 0 || (DecaySteps > 0 && DecaySteps <= WarmupSteps))
            throw new ArgumentException($"--decay-steps must be 0 (the last step) or after the warm-up of {WarmupSteps} steps, got {DecaySteps}.");
        if (Patience < 0) throw new ArgumentException($"--patience must be 0 (off) or a number of steps, got {Patience}.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"--beta2 must be in [0, 1), got {Beta2}.");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new ArgumentException($"--weight-decay must be 0 or more, got {WeightDecay}.");
        if (!(Clip >= 0 && double.IsFinite(Clip))) throw new ArgumentException($"--clip must be 0 (off) or positive, got {Clip}.");
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentException($"--ema must be 0 (off) or a decay below 1, such as 0.995, got {EmaDecay}.");
        if (EvalEvery < 1) throw new ArgumentException($"--eval-every must be at least 1, got {EvalEvery}.");
        if ((long)Batch * Context > int.MaxValue / 8) throw new ArgumentException($"--batch x --context = {(long)Batch * Context} characters per step is too large.");
        return this;
    }

    /// <summary>The schedule these options describe.</summary>
    internal LearningRateSchedule Schedule => new(LearningRate, MinLearningRate, WarmupSteps, DecaySteps > 0 ? DecaySteps : Steps);
}
