namespace MinRnn.Training;

/// <summary>
/// Per-position accuracy: a position is right when its largest logit is its target's. On a tie the first largest
/// counts, as torch.argmax does, so a row of equal logits predicts token 0.
/// </summary>
internal static class Accuracy
{
    /// <summary>How many of the <paramref name="rows"/> rows of logits [rows, vocab] have their argmax at their target.</summary>
    public static long Correct(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int vocab)
    {
        long correct = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * vocab, vocab);
            int argmax = 0;
            for (int j = 1; j < vocab; j++)
                if (row[j] > row[argmax]) argmax = j;
            if (argmax == targets[r]) correct++;
        }
        return correct;
    }
}
