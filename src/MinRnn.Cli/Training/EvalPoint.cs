namespace MinRnn.Cli.Training;

/// <summary>One <c>"kind": "eval"</c> line of <c>metrics.jsonl</c>: a validation run.</summary>
/// <param name="Step">The step after which it ran.</param>
/// <param name="Loss">Validation cross-entropy, nats per character.</param>
/// <param name="BitsPerCharacter">The same loss in bits per character.</param>
/// <param name="BestLoss">The lowest validation loss so far, this one included.</param>
/// <param name="BestStep">The step that reached <paramref name="BestLoss"/>.</param>
/// <param name="ElapsedSeconds">Wall time since the run started, earlier sessions of a resumed run included.</param>
internal sealed record EvalPoint(int Step, double Loss, double BitsPerCharacter, double BestLoss, int BestStep,
    double ElapsedSeconds);
