namespace MinRnn;

/// <summary>How a <see cref="CharModel.Train"/> run ended.</summary>
/// <param name="Steps">Optimisation steps taken.</param>
/// <param name="BestValidationLoss">The lowest validation loss (nats per character); the model now holds the weights that reached it.</param>
/// <param name="BestStep">The step of <paramref name="BestValidationLoss"/>.</param>
/// <param name="Elapsed">Wall time of the run.</param>
/// <param name="StoppedEarly">Whether <see cref="TrainingOptions.Patience"/> ended the run before its last step.</param>
public sealed record TrainingResult(int Steps, double BestValidationLoss, int BestStep, TimeSpan Elapsed, bool StoppedEarly)
{
    /// <summary><see cref="BestValidationLoss"/> in bits per character: loss / ln 2.</summary>
    public double BestBitsPerCharacter => BestValidationLoss / Math.Log(2);
}
