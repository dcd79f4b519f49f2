using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Training;

/// <summary>Spec §4's validation loss: mean cross-entropy over every predicted position of the validation windows.</summary>
internal static class Evaluator
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

    /// <summary>Characters per forward call of <see cref="StreamingLoss"/>: the state carries across calls.</summary>
    const int StreamingChunk = 2048;

    /// <summary>
    /// The loss of predicting each character of <paramref name="tokens"/> from everything before it, the
    /// whole sequence read as one stream with the recurrent state carried (not spec §4's windows).
    /// </summary>
    public static double StreamingLoss(LanguageModel model, ReadOnlyMemory<int> tokens)
    {
        if (tokens.Length < 2) throw new ArgumentException($"Evaluator.StreamingLoss: need at least 2 tokens, got {tokens.Length}.");
        var state = new RecurrentState(model.Config, batch: 1);
        double sum = 0;
        int predicted = tokens.Length - 1;
        for (int start = 0; start < predicted; start += StreamingChunk)
        {
            int length = Math.Min(StreamingChunk, predicted - start);
            var logits = model.Forward(tokens.Span.Slice(start, length), 1, length, state: state);
            sum += SoftmaxCrossEntropy.Forward(logits, tokens.Span.Slice(start + 1, length), length, model.Config.VocabularySize) * length;
        }
        return sum / predicted;
    }
}
