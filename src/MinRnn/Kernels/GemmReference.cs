namespace MinRnn.Kernels;

/// <summary>The plain triple loop that <see cref="Gemm"/> is tested against, summed in double precision.</summary>
internal static class GemmReference
{
    /// <summary>Same contract as <see cref="Gemm.Multiply"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false, ReadOnlySpan<float> bias = default)
    {
        Gemm.Validate(a.Length, b.Length, c.Length, m, n, k, transposeA, transposeB);
        Gemm.ValidateBias(bias.Length, n, accumulate);
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = accumulate ? c[i * n + j] : bias.IsEmpty ? 0.0 : bias[j];
            for (int p = 0; p < k; p++)
            {
                float x = transposeA ? a[p * m + i] : a[i * k + p];
                float y = transposeB ? b[j * k + p] : b[p * n + j];
                sum += (double)x * y;
            }
            c[i * n + j] = (float)sum;
        }
    }
}
