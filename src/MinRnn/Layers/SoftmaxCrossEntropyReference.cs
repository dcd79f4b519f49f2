namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="SoftmaxCrossEntropy"/>, same layouts and checks.</summary>
internal static class SoftmaxCrossEntropyReference
{
    /// <summary>Mean over rows of -log softmax(logits[r])[targets[r]].</summary>
    public static double Forward(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, int rows, int vocab)
    {
        SoftmaxCrossEntropy.Validate("SoftmaxCrossEntropyReference.Forward", logits.Length, targets, rows, vocab);
        return Run(logits, targets, [], rows, vocab, 0);
    }

    /// <summary>The mean loss, and dLogits = (softmax - onehot) · gradientScale (default 1 / rows).</summary>
    public static double ForwardBackward(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, Span<double> dLogits,
        int rows, int vocab, double? gradientScale = null)
    {
        SoftmaxCrossEntropy.ValidateBackward("SoftmaxCrossEntropyReference.ForwardBackward", logits.Length, targets, dLogits.Length,
            rows, vocab, gradientScale);
        return Run(logits, targets, dLogits, rows, vocab, gradientScale ?? 1.0 / rows);
    }

    static double Run(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, Span<double> dLogits, int rows, int vocab, double scale)
    {
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * vocab, vocab);
            double max = double.NegativeInfinity, sum = 0;
            foreach (double v in row) max = Math.Max(max, v);
            foreach (double v in row) sum += Math.Exp(v - max);
            total += Math.Log(sum) + max - row[targets[r]];
            if (dLogits.IsEmpty) continue;
            for (int j = 0; j < vocab; j++)
                dLogits[r * vocab + j] = (Math.Exp(row[j] - max) / sum - (j == targets[r] ? 1 : 0)) * scale;
        }
        return total / rows;
    }
}
