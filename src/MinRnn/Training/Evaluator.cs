using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Training;

/// <summary>Spec §4's validation loss: mean cross-entropy over every predicted position of the validation windows.</summary>
public static class Evaluator
{
    /// <summary>
    /// Runs <paramref name="model"/> (no dropout, h_0 = 0 per window) over all windows, <paramref name="batch"/>
    /// at a time, and returns the mean loss in nats per character.
    /// </summary>
    public static double ValidationLoss(LanguageModel model, ValidationWindows windows, int batch)
    {
        int context = windows.Context, vocabulary = model.Config.VocabularySize;
        batch = Math.Min(batch, windows.Count);
        var inputs = new int[batch * context];
        var targets = new int[batch * context];
        double sum = 0;
        for (int first = 0; first < windows.Count; first += batch)
        {
            int rows = windows.Fill(first, inputs, targets);
            int positions = rows * context;
            var logits = model.Forward(inputs.AsSpan(0, positions), rows, context);
            sum += SoftmaxCrossEntropy.Forward(logits, targets.AsSpan(0, positions), positions, vocabulary) * positions;
        }
        return sum / windows.Positions;
    }
}
