using MinRnn.Data;
using MinRnn.Distributed;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Training;

/// <summary>What a validation set scores: the mean cross-entropy (nats per position) and the accuracy over its scored positions.</summary>
/// <param name="Loss">Mean cross-entropy over the scored positions, in nats.</param>
/// <param name="Accuracy">The share of scored positions whose largest logit is the target's, in [0, 1].</param>
internal readonly record struct ValidationScore(double Loss, double Accuracy);

/// <summary>Validation (spec §4's loss for a text, the same means over the scored positions of a task) and the streaming loss.</summary>
internal static class Evaluator
{
    /// <summary>
    /// Runs <paramref name="model"/> (no dropout, h_0 = 0 per sequence) over every sequence of <paramref name="set"/>,
    /// <paramref name="batch"/> at a time, scoring the last <see cref="IValidationSet.Scored"/> positions of each. With
    /// several ranks in <paramref name="group"/>, rank r scores sequences r·S/R … (r+1)·S/R - 1 and the sums are added.
    /// </summary>
    public static ValidationScore Validate(LanguageModel model, IValidationSet set, int batch, ProcessGroup? group = null)
    {
        group ??= ProcessGroup.Single;
        int length = set.Length, scored = set.Scored, vocabulary = model.Config.VocabularySize;
        int begin = (int)((long)set.Count * group.Rank / group.Size), end = (int)((long)set.Count * (group.Rank + 1) / group.Size);
        batch = Math.Max(1, Math.Min(batch, end - begin));
        var inputs = new int[batch * length];
        var targets = new int[batch * scored];
        Span<double> totals = [0, 0]; // the summed loss and the correct predictions
        for (int first = begin; first < end; first += batch)
        {
            int count = Math.Min(batch, end - first);
            int rows = set.Fill(first, inputs.AsSpan(0, count * length), targets.AsSpan(0, count * scored));
            int positions = rows * scored;
            var logits = model.Forward(inputs.AsSpan(0, rows * length), rows, length, scored: scored);
            totals[0] += SoftmaxCrossEntropy.Forward(logits, targets.AsSpan(0, positions), positions, vocabulary) * positions;
            totals[1] += Accuracy.Correct(logits, targets.AsSpan(0, positions), positions, vocabulary);
        }
        group.Sum(totals);
        return new ValidationScore(totals[0] / set.Positions, totals[1] / set.Positions);
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
