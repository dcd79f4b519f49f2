namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="Gelu"/>, straight from the tanh form.</summary>
internal static class GeluReference
{
    static readonly double C = Math.Sqrt(2 / Math.PI);
    const double A = 0.044715;

    /// <summary>y = 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³))).</summary>
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        Gelu.ValidateForward("GeluReference.Forward", x.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = 0.5 * v * (1 + Math.Tanh(C * (v + A * v * v * v)));
        }
    }

    /// <summary>dx = dy · (0.5 (1 + t) + 0.5 x (1 - t²) sqrt(2/π) (1 + 3 · 0.044715 x²)), t = tanh(u).</summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> dy, Span<double> dx)
    {
        Gelu.ValidateBackward("GeluReference.Backward", x.Length, dy.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i], t = Math.Tanh(C * (v + A * v * v * v));
            dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * A * v * v));
        }
    }
}
