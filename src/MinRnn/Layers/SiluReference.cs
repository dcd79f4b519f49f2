namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="Silu"/>.</summary>
internal static class SiluReference
{
    /// <summary>y = x / (1 + e^-x).</summary>
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        Gelu.ValidateForward("SiluReference.Forward", x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = Value(x[i]);
    }

    /// <summary>dx = dy · σ(x) (1 + x (1 - σ(x))).</summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> dy, Span<double> dx)
    {
        Gelu.ValidateBackward("SiluReference.Backward", x.Length, dy.Length, dx.Length);
        for (int i = 0; i < x.Length; i++) dx[i] = dy[i] * Slope(x[i]);
    }

    /// <summary>silu(v) = v σ(v).</summary>
    public static double Value(double v) => v * Sigmoid(v);

    /// <summary>silu'(v) = σ(v) (1 + v (1 - σ(v))).</summary>
    public static double Slope(double v)
    {
        double s = Sigmoid(v);
        return s * (1 + v * (1 - s));
    }

    static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
}
