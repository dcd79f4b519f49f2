using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Fully connected layer y = x · Wᵀ + b for x [rows, inFeatures], weight W [outFeatures, inFeatures]
/// (PyTorch's nn.Linear layout), bias b [outFeatures] (or empty: no bias, as nanoGPT's bias=False) and y [rows, outFeatures]. The products run on
/// <see cref="Gemm"/>. <see cref="LinearReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class Linear
{
    /// <summary>y = x · Wᵀ + b, the bias added as the product is stored.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not match
    /// its shape, or y overlaps x.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        int rows, int inFeatures, int outFeatures)
    {
        const string op = "Linear.Forward";
        ValidateForward(op, x.Length, weight.Length, bias.Length, y.Length, rows, inFeatures, outFeatures);
        Check.Disjoint(op, "x", x, "y", y);
        Gemm.Multiply(x, weight, y, rows, outFeatures, inFeatures, transposeB: true, bias: bias);
    }

    /// <summary>y = x · Wᵀ + b with W packed once for many products of few rows (generation).</summary>
    /// <exception cref="ArgumentException">A buffer's length does not match its shape, or y overlaps x.</exception>
    internal static void Forward(ReadOnlySpan<float> x, PackedMatrix weight, ReadOnlySpan<float> bias, Span<float> y, int rows)
    {
        if (!bias.IsEmpty) Check.Length("Linear.Forward", "bias", bias.Length, weight.N);
        weight.Multiply(x, bias, y, rows);
    }

    /// <summary>
    /// Gradients: dx = dy · W (or dx += with <paramref name="accumulateDx"/>; skipped when dx is empty,
    /// as for a first layer), dW += dyᵀ · x and db += Σ_rows dy (skipped when dBias is empty: no bias). dW and db accumulate so that callers
    /// can sum over micro-batches; both are formed in a fixed order for any thread count.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not match
    /// its shape, or an output overlaps an input.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, int rows, int inFeatures, int outFeatures, bool accumulateDx = false)
    {
        const string op = "Linear.Backward";
        ValidateBackward(op, x.Length, weight.Length, dy.Length, dx.Length, dWeight.Length, dBias.Length, rows, inFeatures, outFeatures);
        Check.Disjoint(op, "dy", dy, "dBias", dBias);
        if (!dx.IsEmpty) Gemm.Multiply(dy, weight, dx, rows, inFeatures, outFeatures, accumulate: accumulateDx);
        // db += Σ_rows dy is summed as the product packs dy.
        Gemm.Multiply(dy, x, dWeight, outFeatures, inFeatures, rows, transposeA: true, accumulate: true, rowSumsOfA: dBias);
    }

    internal static void ValidateForward(string op, int x, int weight, int bias, int y, int rows, int inFeatures, int outFeatures)
    {
        Check.Positive(op, ("rows", rows), ("inFeatures", inFeatures), ("outFeatures", outFeatures));
        Check.Length(op, "x", x, rows, inFeatures);
        Check.Length(op, "weight", weight, outFeatures, inFeatures);
        if (bias != 0) Check.Length(op, "bias", bias, outFeatures);
        Check.Length(op, "y", y, rows, outFeatures);
    }

    internal static void ValidateBackward(string op, int x, int weight, int dy, int dx, int dWeight, int dBias,
        int rows, int inFeatures, int outFeatures)
    {
        Check.Positive(op, ("rows", rows), ("inFeatures", inFeatures), ("outFeatures", outFeatures));
        Check.Length(op, "x", x, rows, inFeatures);
        Check.Length(op, "weight", weight, outFeatures, inFeatures);
        Check.Length(op, "dy", dy, rows, outFeatures);
        if (dx != 0) Check.Length(op, "dx", dx, rows, inFeatures);
        Check.Length(op, "dWeight", dWeight, outFeatures, inFeatures);
        if (dBias != 0) Check.Length(op, "dBias", dBias, outFeatures);
    }
}
