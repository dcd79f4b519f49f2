using System.Globalization;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>
/// The text of the progress lines, the same in the live display and in plain output:
/// <code>
/// step 120/2000  loss 1.8234  val 1.9012 acc 45.21% (best 1.9012 acc 45.21% @ 100)  lr 9.5e-04  41,230 tok/s  elapsed 0:01:12  eta 0:18:30
/// eval step 100/2000  val 1.9012 (2.7429 bits/char) acc 45.21%  best 1.9012 acc 45.21% @ 100  new best
/// </code>
/// (the accuracies only when the evaluation measured them).
/// Numbers are formatted in the invariant culture, so logs read the same on every machine.
/// </summary>
internal static class ProgressLine
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// The line of a training step: <see cref="Counter"/> then <see cref="Metrics"/>.
    /// </summary>
    public static string Step(StepReport step, EvalReport? lastEval, TimeSpan? eta) =>
        $"{Counter(step.Step, step.TotalSteps)}  {Metrics(step, lastEval, eta)}";

    /// <summary>"step 120/2000".</summary>
    public static string Counter(int step, int totalSteps) => string.Create(Invariant, $"step {step}/{totalSteps}");

    /// <summary>
    /// Everything of a step line after the counter: the step's loss, the last validation loss and the best (left out
    /// before the first evaluation), learning rate, throughput, elapsed time and the estimated time left ("-" while
    /// <paramref name="eta"/> is unknown).
    /// </summary>
    public static string Metrics(StepReport step, EvalReport? lastEval, TimeSpan? eta)
    {
        string validation = lastEval is { } e
            ? string.Create(Invariant, $"  val {e.ValidationLoss:F4}{Accuracy(e.ValidationAccuracy)} (best {e.BestValidationLoss:F4}{Accuracy(e.BestValidationAccuracy)} @ {e.BestStep})")
            : "";
        return string.Create(Invariant,
            $"loss {step.TrainLoss:F4}{validation}  lr {step.LearningRate:0.0e+00}  {step.TokensPerSecond:N0} tok/s  elapsed {Duration(step.Elapsed)}  eta {(eta is { } t ? Duration(t) : "-")}");
    }

    /// <summary>The line of an evaluation, ending in "new best" when it is one.</summary>
    public static string Eval(EvalReport eval, int totalSteps) => string.Create(Invariant,
        $"eval {Counter(eval.Step, totalSteps)}  val {eval.ValidationLoss:F4} ({eval.BitsPerCharacter:F4} bits/char){Accuracy(eval.ValidationAccuracy)}  " +
        $"best {eval.BestValidationLoss:F4}{Accuracy(eval.BestValidationAccuracy)} @ {eval.BestStep}{(eval.IsBest ? "  new best" : "")}");

    /// <summary>" acc 45.21%", or nothing when the accuracy was not measured (NaN).</summary>
    static string Accuracy(double accuracy) => double.IsFinite(accuracy) ? string.Create(Invariant, $" acc {100 * accuracy:F2}%") : "";

    /// <summary>A duration as hours:minutes:seconds ("0:01:12", "27:03:05"), rounded down to the second.</summary>
    public static string Duration(TimeSpan time) => string.Create(Invariant, $"{(long)time.TotalHours}:{time.Minutes:00}:{time.Seconds:00}");
}
