namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="Dropout"/>: the same mask, applied in double.</summary>
internal static class DropoutReference
{
    /// <summary>y[i] = x[i] / (1 - p) where mask element offset + i is kept, else 0.</summary>
    public static void Forward(ReadOnlySpan<double> x, Span<double> y, float p, ulong seed, long offset = 0)
    {
        Dropout.Validate("DropoutReference.Forward", x.Length, "y", y.Length, p);
        for (int i = 0; i < x.Length; i++) y[i] = Dropout.Keeps(seed, offset + i, p) ? x[i] / (1 - (double)p) : 0;
    }

    /// <summary>dx[i] = dy[i] / (1 - p) where mask element offset + i is kept, else 0.</summary>
    public static void Backward(ReadOnlySpan<double> dy, Span<double> dx, float p, ulong seed, long offset = 0)
    {
        Dropout.Validate("DropoutReference.Backward", dy.Length, "dx", dx.Length, p);
        for (int i = 0; i < dy.Length; i++) dx[i] = Dropout.Keeps(seed, offset + i, p) ? dy[i] / (1 - (double)p) : 0;
    }
}
