namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="LayerNorm"/>, same layouts and checks.</summary>
internal static class LayerNormReference
{
    /// <summary>
    /// μ = Σ x / dim, σ² = Σ (x - μ)² / dim, r = 1 / sqrt(σ² + ε) and y = (x - μ) · r · weight per row;
    /// μ and r are saved in mean and rstd.
    /// </summary>
    public static void Forward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, Span<double> y, Span<double> mean, Span<double> rstd,
        int rows, int dim)
    {
        LayerNorm.Validate("LayerNormReference.Forward", x.Length, weight.Length, "y", y.Length, mean.Length, rstd.Length, rows, dim);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            double sum = 0;
            foreach (double v in xr) sum += v;
            double mu = sum / dim, squares = 0;
            foreach (double v in xr) squares += (v - mu) * (v - mu);
            double rs = 1 / Math.Sqrt(squares / dim + LayerNorm.Epsilon);
            mean[r] = mu;
            rstd[r] = rs;
            for (int j = 0; j < dim; j++) y[r * dim + j] = (xr[j] - mu) * rs * weight[j];
        }
    }

    /// <summary>
    /// With x̂ = (x - μ) r and g = dy ⊙ weight, by the chain rule through μ and r
    /// (dμ/dx_j = 1 / dim, dr/dx_j = -r³ (x_j - μ) / dim):
    /// dx_j (=|+=) r (g_j - Σ_i g_i / dim - x̂_j Σ_i g_i x̂_i / dim), dWeight_j += Σ_rows dy_j x̂_j.
    /// </summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<double> dy, Span<double> dx, Span<double> dWeight, int rows, int dim, bool accumulateDx = false)
    {
        LayerNorm.ValidateBackward("LayerNormReference.Backward", x.Length, weight.Length, mean.Length, rstd.Length, dy.Length,
            dx.Length, dWeight.Length, rows, dim);
        var xhat = new double[dim];
        var g = new double[dim];
        for (int r = 0; r < rows; r++)
        {
            double meanG = 0, meanGXhat = 0;
            for (int i = 0; i < dim; i++)
            {
                xhat[i] = (x[r * dim + i] - mean[r]) * rstd[r];
                g[i] = dy[r * dim + i] * weight[i];
                meanG += g[i] / dim;
                meanGXhat += g[i] * xhat[i] / dim;
            }
            for (int j = 0; j < dim; j++)
            {
                double d = rstd[r] * (g[j] - meanG - xhat[j] * meanGXhat);
                dx[r * dim + j] = accumulateDx ? dx[r * dim + j] + d : d;
                dWeight[j] += dy[r * dim + j] * xhat[j];
            }
        }
    }
}
