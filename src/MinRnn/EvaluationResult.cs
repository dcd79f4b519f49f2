namespace MinRnn;

/// <summary>What <see cref="CharModel.Evaluate"/> measured, as <c>minrnn eval</c> reports it.</summary>
/// <param name="ValidationLoss">Spec §4's validation loss: mean cross-entropy in nats per character over consecutive windows, each from a zero state.</param>
/// <param name="StreamingLoss">The loss of the whole validation split read as one sequence, the state carried across;
/// null for a model that carries no state from one window to the next (the transformer).</param>
/// <param name="Context">The window length.</param>
/// <param name="Windows">How many windows the validation split holds.</param>
/// <param name="Positions">How many characters were predicted.</param>
/// <param name="ValidationAccuracy">The share of those characters that were the model's most likely one, in [0, 1].</param>
public sealed record EvaluationResult(double ValidationLoss, double? StreamingLoss, int Context, int Windows, long Positions, double ValidationAccuracy)
{
    /// <summary><see cref="ValidationLoss"/> in bits per character: loss / ln 2.</summary>
    public double BitsPerCharacter => ValidationLoss / Math.Log(2);

    /// <summary><see cref="StreamingLoss"/> in bits per character.</summary>
    public double? StreamingBitsPerCharacter => StreamingLoss / Math.Log(2);
}
