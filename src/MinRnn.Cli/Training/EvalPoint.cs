namespace MinRnn.Cli.Training;

/// <summary>One <c>"kind": "eval"</c> line of <c>metrics.jsonl</c>: a validation run.</summary>
/// <param name="Step">The step after which it ran.</param>
/// <param name="Loss">Validation cross-entropy, nats per character.</param>
/// <param name="BitsPerCharacter">The same loss in bits per character.</param>
/// <param name="BestLoss">The validation loss of the best evaluation so far, this one included (the lowest, or a task's most accurate).</param>
/// <param name="BestStep">The step of the best evaluation.</param>
/// <param name="ElapsedSeconds">Wall time since the run started, earlier sessions of a resumed run included.</param>
/// <param name="Accuracy">Validation accuracy in [0, 1]; NaN in a line written before accuracy was measured.</param>
/// <param name="BestAccuracy">The validation accuracy of the best evaluation; NaN likewise.</param>
internal sealed record EvalPoint(int Step, double Loss, double BitsPerCharacter, double BestLoss, int BestStep,
    double ElapsedSeconds, double Accuracy = double.NaN, double BestAccuracy = double.NaN);
