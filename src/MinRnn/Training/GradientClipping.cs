using MinRnn.Kernels;

namespace MinRnn.Training;

/// <summary>
/// Clipping by global norm (PyTorch's clip_grad_norm_ without its 1e-6): the L2 norm over all gradient
/// tensors together, and when it exceeds maxNorm every gradient is scaled by maxNorm / norm. Each tensor
/// is cut into fixed blocks of 4096 elements whose sums of squares are added in double in block order,
/// so the norm does not depend on the thread count. A non-finite norm is returned, not thrown, and the
/// gradients are then left as they are: the caller decides (skip the step, or <see cref="ThrowIfNonFinite"/>).
/// <see cref="GradientClippingReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class GradientClipping
{
    const int BlockSize = 4096;

    [ThreadStatic] static double[]? blockSums;

    /// <summary>sqrt(Σ over all tensors and elements of g²). Empty tensors (or none) give 0.</summary>
    public static double GlobalNorm(params ReadOnlySpan<Memory<float>> gradients)
    {
        int blocks = 0;
        foreach (var g in gradients) blocks += Blocks(g.Length);
        double[] sums = Scratch.Get(ref blockSums, blocks);
        int first = 0;
        fixed (double* s = sums)
            foreach (var g in gradients)
            {
                fixed (float* p = g.Span) VectorJob.For(Blocks(g.Length), BlockSize, new SumOfSquaresJob(p, g.Length, s + first));
                first += Blocks(g.Length);
            }
        double total = 0;
        for (int b = 0; b < blocks; b++) total += sums[b];
        return Math.Sqrt(total);
    }

    /// <summary>
    /// Scales every gradient by maxNorm / norm when the global norm exceeds <paramref name="maxNorm"/>, and
    /// returns the norm before clipping. A NaN or infinite norm is returned with the gradients untouched.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="maxNorm"/> is not positive and finite.</exception>
    public static double ClipByGlobalNorm(float maxNorm, params ReadOnlySpan<Memory<float>> gradients)
    {
        if (!(maxNorm > 0f && float.IsFinite(maxNorm)))
            throw new ArgumentException($"GradientClipping.ClipByGlobalNorm: maxNorm must be positive and finite, got {maxNorm}.");
        double norm = GlobalNorm(gradients);
        if (!(norm > maxNorm) || !double.IsFinite(norm)) return norm;
        float scale = (float)(maxNorm / norm);
        foreach (var g in gradients)
            fixed (float* p = g.Span) VectorJob.For(g.Length, 1, new ScaleJob(p, scale));
        return norm;
    }

    /// <summary>Throws when a norm from <see cref="GlobalNorm"/> or <see cref="ClipByGlobalNorm"/> is NaN or infinite.</summary>
    /// <exception cref="NotFiniteNumberException">The norm is NaN or infinite: a gradient overflowed or training diverged.</exception>
    public static void ThrowIfNonFinite(double norm)
    {
        if (!double.IsFinite(norm))
            throw new NotFiniteNumberException($"GradientClipping: the global gradient norm is {norm}; a gradient holds NaN or infinity (has training diverged?).", norm);
    }

    static int Blocks(int length) => (length + BlockSize - 1) / BlockSize;

    /// <summary>sums[b] = Σ g² over block b of one tensor.</summary>
    readonly struct SumOfSquaresJob(float* g, int length, double* sums) : IVectorJob
    {
        public long BytesMoved(int count) => 4L * length;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int b = start; b < end; b++)
                sums[b] = VectorOps.SumOfSquares<TOps, TV>(g + (long)b * BlockSize, Math.Min(BlockSize, length - b * BlockSize));
        }
    }

    readonly struct ScaleJob(float* g, float scale) : IVectorJob
    {
        public long BytesMoved(int count) => 8L * count;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct =>
            VectorOps.Scale<TOps, TV>(g + start, scale, end - start);
    }
}
