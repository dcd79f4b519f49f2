namespace MinRnn.Training;

/// <summary>The plain double-precision oracle for <see cref="AdamW"/>, written from the textbook formulas.</summary>
internal static class AdamWReference
{
    /// <summary>Same contract as <see cref="AdamW.Step"/>, in double.</summary>
    public static void Step(Span<double> parameters, ReadOnlySpan<double> gradients, Span<double> m, Span<double> v, int step,
        AdamWOptions options, bool decay = true)
    {
        AdamW.Validate("AdamWReference.Step", parameters.Length, gradients.Length, m.Length, v.Length, step, options);
        double lr = options.LearningRate, b1 = options.Beta1, b2 = options.Beta2, eps = options.Epsilon;
        double wd = decay ? options.WeightDecay : 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            double g = gradients[i];
            parameters[i] -= lr * wd * parameters[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mHat = m[i] / (1 - Math.Pow(b1, step)), vHat = v[i] / (1 - Math.Pow(b2, step));
            parameters[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }
}
