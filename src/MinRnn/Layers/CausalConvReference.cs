namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="CausalConv"/>, same layouts and checks.</summary>
internal static class CausalConvReference
{
    /// <summary>y[b, t, c] = bias[c] + Σ_j weight[c, 0, j] · x[b, t - kernel + 1 + j, c] (0 before t = 0).</summary>
    public static void Forward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, ReadOnlySpan<double> bias, Span<double> y,
        int batch, int time, int dim, int kernel)
    {
        CausalConv.Validate("CausalConvReference.Forward", x.Length, weight.Length, bias.Length, y.Length, batch, time, dim, kernel);
        for (int b = 0; b < batch; b++)
        for (int t = 0; t < time; t++)
        for (int c = 0; c < dim; c++)
        {
            double sum = bias[c];
            for (int j = 0; j < kernel; j++)
            {
                int s = t - kernel + 1 + j;
                if (s >= 0) sum += weight[c * kernel + j] * x[(b * time + s) * dim + c];
            }
            y[(b * time + t) * dim + c] = sum;
        }
    }

    /// <summary>Scatters each term of the forward sum back: dx (=|+=, skipped when empty), dWeight +=, dBias +=.</summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, ReadOnlySpan<double> dy,
        Span<double> dx, Span<double> dWeight, Span<double> dBias, int batch, int time, int dim, int kernel, bool accumulateDx = false)
    {
        CausalConv.ValidateBackward("CausalConvReference.Backward", x.Length, weight.Length, dy.Length, dx.Length, dWeight.Length,
            dBias.Length, batch, time, dim, kernel);
        if (!dx.IsEmpty && !accumulateDx) dx.Clear();
        for (int b = 0; b < batch; b++)
        for (int t = 0; t < time; t++)
        for (int c = 0; c < dim; c++)
        {
            double g = dy[(b * time + t) * dim + c];
            dBias[c] += g;
            for (int j = 0; j < kernel; j++)
            {
                int s = t - kernel + 1 + j;
                if (s < 0) continue;
                if (!dx.IsEmpty) dx[(b * time + s) * dim + c] += g * weight[c * kernel + j];
                dWeight[c * kernel + j] += g * x[(b * time + s) * dim + c];
            }
        }
    }
}
