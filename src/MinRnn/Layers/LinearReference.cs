namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="Linear"/>, same layouts and checks.</summary>
internal static class LinearReference
{
    /// <summary>y[r, o] = b[o] + Σ_i x[r, i] W[o, i].</summary>
    public static void Forward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, ReadOnlySpan<double> bias, Span<double> y,
        int rows, int inFeatures, int outFeatures)
    {
        Linear.ValidateForward("LinearReference.Forward", x.Length, weight.Length, bias.Length, y.Length, rows, inFeatures, outFeatures);
        for (int r = 0; r < rows; r++)
        for (int o = 0; o < outFeatures; o++)
        {
            double sum = bias[o];
            for (int i = 0; i < inFeatures; i++) sum += x[r * inFeatures + i] * weight[o * inFeatures + i];
            y[r * outFeatures + o] = sum;
        }
    }

    /// <summary>dx (=|+=) dy · W unless dx is empty, dW += dyᵀ · x, db += Σ_rows dy.</summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, ReadOnlySpan<double> dy,
        Span<double> dx, Span<double> dWeight, Span<double> dBias, int rows, int inFeatures, int outFeatures, bool accumulateDx = false)
    {
        Linear.ValidateBackward("LinearReference.Backward", x.Length, weight.Length, dy.Length, dx.Length, dWeight.Length, dBias.Length,
            rows, inFeatures, outFeatures);
        if (!dx.IsEmpty && !accumulateDx) dx.Clear();
        for (int r = 0; r < rows; r++)
        for (int o = 0; o < outFeatures; o++)
        {
            double g = dy[r * outFeatures + o];
            dBias[o] += g;
            for (int i = 0; i < inFeatures; i++)
            {
                if (!dx.IsEmpty) dx[r * inFeatures + i] += g * weight[o * inFeatures + i];
                dWeight[o * inFeatures + i] += g * x[r * inFeatures + i];
            }
        }
    }
}
