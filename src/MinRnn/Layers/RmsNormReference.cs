namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="RmsNorm"/>, same layouts and checks.</summary>
internal static class RmsNormReference
{
    /// <summary>y = x / sqrt(mean(x²) + ε) · weight per row.</summary>
    public static void Forward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, Span<double> y, int rows, int dim)
    {
        RmsNorm.Validate("RmsNormReference.Forward", x.Length, weight.Length, "y", y.Length, rows, dim);
        for (int r = 0; r < rows; r++)
        {
            double rstd = Rstd(x.Slice(r * dim, dim));
            for (int j = 0; j < dim; j++) y[r * dim + j] = x[r * dim + j] * rstd * weight[j];
        }
    }

    /// <summary>
    /// By the chain rule through r = (Σ x² / dim + ε)^(-1/2), dr/dx_j = -r³ x_j / dim:
    /// dx_j (=|+=) r w_j dy_j - r³ x_j / dim · Σ_i dy_i w_i x_i, dWeight_j += Σ_rows dy_j x_j r.
    /// </summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> weight, ReadOnlySpan<double> dy,
        Span<double> dx, Span<double> dWeight, int rows, int dim, bool accumulateDx = false)
    {
        RmsNorm.ValidateBackward("RmsNormReference.Backward", x.Length, weight.Length, dy.Length, dx.Length, dWeight.Length, rows, dim);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            double rstd = Rstd(xr), dot = 0;
            for (int i = 0; i < dim; i++) dot += dy[r * dim + i] * weight[i] * xr[i];
            for (int j = 0; j < dim; j++)
            {
                double g = dy[r * dim + j];
                double d = rstd * weight[j] * g - rstd * rstd * rstd * xr[j] / dim * dot;
                dx[r * dim + j] = accumulateDx ? dx[r * dim + j] + d : d;
                dWeight[j] += g * xr[j] * rstd;
            }
        }
    }

    static double Rstd(ReadOnlySpan<double> row)
    {
        double squares = 0;
        foreach (double v in row) squares += v * v;
        return 1 / Math.Sqrt(squares / row.Length + RmsNorm.Epsilon);
    }
}
