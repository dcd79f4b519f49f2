namespace MinRnn;

/// <summary>What training reports as it goes: a <see cref="StepReport"/> after every step, an <see cref="EvalReport"/> after every evaluation.</summary>
/// <param name="Step">The step just finished, counting from 1.</param>
public abstract record TrainingReport(int Step);

/// <summary>What one optimisation step did.</summary>
/// <param name="Step">The step just finished, counting from 1.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="TrainLoss">Mean cross-entropy (nats per character) of the step's batch.</param>
/// <param name="LearningRate">The learning rate the step used.</param>
/// <param name="GradientNorm">Global L2 norm of the gradient before clipping.</param>
/// <param name="TokensPerSecond">Training throughput of this step, in characters per second.</param>
/// <param name="Elapsed">Wall time since the run started (including earlier sessions when resumed).</param>
/// <param name="Skipped">Whether the loss or the gradient was not finite and the step changed nothing
/// (only when the command line's --skip-nonfinite is on).</param>
public sealed record StepReport(int Step, int TotalSteps, double TrainLoss, double LearningRate, double GradientNorm,
    double TokensPerSecond, TimeSpan Elapsed, bool Skipped = false) : TrainingReport(Step);

/// <summary>A periodic evaluation on the validation split (spec §4), or on a task's validation set.</summary>
/// <param name="Step">The step after which it ran.</param>
/// <param name="ValidationLoss">Mean cross-entropy in nats per character (per scored position of a task).</param>
/// <param name="BestValidationLoss">The validation loss of the best evaluation so far, this one included: the lowest for a
/// language model; for a task, whose best evaluation is the most accurate, that one's loss.</param>
/// <param name="BestStep">The step of the best evaluation.</param>
public sealed record EvalReport(int Step, double ValidationLoss, double BestValidationLoss, int BestStep) : TrainingReport(Step)
{
    /// <summary>The share of positions (scored positions of a task) whose most likely token is the target, in [0, 1]; NaN when not measured.</summary>
    public double ValidationAccuracy { get; init; } = double.NaN;

    /// <summary>The validation accuracy of the best evaluation so far; NaN when not measured.</summary>
    public double BestValidationAccuracy { get; init; } = double.NaN;

    /// <summary>Whether this evaluation set a new best.</summary>
    public bool IsBest => BestStep == Step;

    /// <summary>Bits per character: loss / ln 2.</summary>
    public double BitsPerCharacter => ValidationLoss / Math.Log(2);
}
