using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Softmax cross-entropy over logits [rows, vocab] with one target id per row, fused with its gradient:
/// loss = mean over rows of log Σ_j exp(logit_j) - logit_target, and dLogits = (softmax - onehot(target)) · scale
/// with scale = 1 / rows by default (the gradient of the mean). Rows are split into at most 32 fixed chunks
/// whose losses are summed in double and then added in chunk order, so the loss does not depend on the
/// thread count. <see cref="SoftmaxCrossEntropyReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class SoftmaxCrossEntropy
{
    const int Chunks = 32;

    /// <summary>The mean loss alone, for evaluation.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a length does not match its shape,
    /// or a target is outside [0, vocab).</exception>
    /// <exception cref="NotFiniteNumberException">A logit is NaN or infinite; the message names the row.</exception>
    public static double Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int vocab)
    {
        const string op = "SoftmaxCrossEntropy.Forward";
        Validate(op, logits.Length, targets, rows, vocab);
        return Run(op, logits, targets, null, rows, vocab, 0f);
    }

    /// <summary>
    /// The mean loss, and dLogits = (softmax(logits) - onehot(targets)) · gradientScale, where
    /// gradientScale defaults to 1 / rows (pass e.g. 1 / (rows · steps) to accumulate micro-batches).
    /// </summary>
    /// <exception cref="ArgumentException">As for <see cref="Forward"/>, or dLogits has the wrong length or
    /// overlaps logits, or gradientScale is not finite.</exception>
    /// <exception cref="NotFiniteNumberException">A logit is NaN or infinite; the message names the row.</exception>
    public static double ForwardBackward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> dLogits,
        int rows, int vocab, float? gradientScale = null)
    {
        const string op = "SoftmaxCrossEntropy.ForwardBackward";
        ValidateBackward(op, logits.Length, targets, dLogits.Length, rows, vocab, gradientScale);
        Check.Disjoint(op, "logits", logits, "dLogits", dLogits);
        fixed (float* d = dLogits) return Run(op, logits, targets, d, rows, vocab, gradientScale ?? 1f / rows);
    }

    internal static void Validate(string op, int logits, ReadOnlySpan<int> targets, int rows, int vocab)
    {
        Check.Positive(op, ("rows", rows), ("vocab", vocab));
        Check.Length(op, "logits", logits, rows, vocab);
        Check.Length(op, "targets", targets.Length, rows);
        Check.Indices(op, "targets", targets, vocab);
    }

    internal static void ValidateBackward(string op, int logits, ReadOnlySpan<int> targets, int dLogits, int rows, int vocab, double? gradientScale)
    {
        Validate(op, logits, targets, rows, vocab);
        Check.Length(op, "dLogits", dLogits, rows, vocab);
        if (gradientScale is { } s && !double.IsFinite(s))
            throw new ArgumentException($"{op}: gradientScale must be finite, got {s}.");
    }

    static double Run(string op, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, float* dLogits, int rows, int vocab, float scale)
    {
        int chunks = Math.Min(Chunks, rows);
        double* losses = stackalloc double[chunks];
        int* badRows = stackalloc int[chunks];
        fixed (float* l = logits) fixed (int* t = targets)
            VectorJob.For(chunks, (rows / chunks + 1) * 4L * vocab, new Job(l, t, dLogits, rows, vocab, chunks, scale, losses, badRows));
        double total = 0;
        for (int k = 0; k < chunks; k++)
        {
            if (badRows[k] >= 0)
                throw new NotFiniteNumberException($"{op}: row {badRows[k]} of logits [{rows}, {vocab}] holds NaN or infinity (has training diverged?).");
            total += losses[k];
        }
        return total / rows;
    }

    /// <summary>Chunk k covers rows [k·rows/chunks, (k+1)·rows/chunks); it stops at its first non-finite row.</summary>
    readonly struct Job(float* logits, int* targets, float* dLogits, int rows, int vocab, int chunks, float scale, double* losses, int* badRows)
        : IVectorJob
    {
        public long BytesMoved(int count) => 8L * rows * vocab; // logits in, their gradient out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int k = start; k < end; k++)
            {
                double loss = 0;
                badRows[k] = -1;
                for (long r = (long)k * rows / chunks, r1 = (long)(k + 1) * rows / chunks; r < r1; r++)
                {
                    float* l = logits + r * vocab;
                    var (max, finite) = Max<TOps, TV>(l, vocab);
                    if (!finite)
                    {
                        badRows[k] = (int)r;
                        break;
                    }
                    float* d = dLogits == null ? null : dLogits + r * vocab;
                    float sum = SumExp<TOps, TV>(l, max, d, vocab);
                    int target = targets[r];
                    loss += Math.Log(sum) + max - l[target]; // -log softmax_target = log Σ exp(l - max) + max - l_target
                    if (d == null) continue;
                    VectorOps.Scale<TOps, TV>(d, scale / sum, vocab);
                    d[target] -= scale;
                }
                losses[k] = loss;
            }
        }
    }

    /// <summary>
    /// The row's maximum, and whether every value is finite: v · 0 is 0 for finite v and NaN otherwise,
    /// so one sum of those products, tested once, checks the whole row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (float Max, bool Finite) Max<TOps, TV>(float* x, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV max = TOps.Broadcast(float.NegativeInfinity), probe = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV v = TOps.Load(x + i);
            max = TOps.Max(max, v);
            probe = TOps.Add(probe, TOps.Mul(v, TOps.Zero));
        }
        var result = (VectorOps.MaxAcross<TOps, TV>(max), !TOps.AnyNonFinite(probe));
        if (i == n) return result;
        var tail = Max<SimdScalar, float>(x + i, n - i);
        return (MathF.Max(result.Item1, tail.Max), result.Item2 && tail.Finite);
    }

    /// <summary>Σ exp(x - max), also storing each exp(x - max) in d unless d is null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float SumExp<TOps, TV>(float* x, float max, float* d, int n) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV m = TOps.Broadcast(max), sum = TOps.Zero;
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TV e = TOps.Exp(TOps.Sub(TOps.Load(x + i), m));
            sum = TOps.Add(sum, e);
            if (d != null) TOps.Store(d + i, e);
        }
        float total = TOps.Sum(sum);
        return i < n ? total + SumExp<SimdScalar, float>(x + i, max, d == null ? null : d + i, n - i) : total;
    }
}
