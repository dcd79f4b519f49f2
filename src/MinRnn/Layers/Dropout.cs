using System.Runtime.Intrinsics;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Inverted dropout for training: element i is kept iff <see cref="CounterRandom.Uniform"/>(seed, offset + i) &gt;= p,
/// and kept elements are scaled by 1 / (1 - p). The offset places a buffer inside a larger one: ranks that each hold
/// some of a batch's rows draw the masks that one process holding them all would. The mask is a pure function of
/// (seed, offset + i), so it is never stored, backward recomputes it, and it does not depend on the thread count. Callers give
/// every dropout site and step its own seed. p = 0 is the identity. The hash is 64-bit integer
/// arithmetic: with 512-bit vectors it runs on 8 lanes of ulong at a time, otherwise one element at a
/// time. <see cref="DropoutReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class Dropout
{
    /// <summary>y = mask · x / (1 - p), element i of x being element <paramref name="offset"/> + i of the mask. y may be x itself.</summary>
    /// <exception cref="ArgumentException">x is empty, y's length differs from x's, or p is not in [0, 1).</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, float p, ulong seed, long offset = 0) =>
        Apply("Dropout.Forward", x, "y", y, p, seed, offset);

    /// <summary>dx = mask · dy / (1 - p), the same map as forward. dx may be dy itself.</summary>
    /// <exception cref="ArgumentException">dy is empty, dx's length differs from dy's, or p is not in [0, 1).</exception>
    public static void Backward(ReadOnlySpan<float> dy, Span<float> dx, float p, ulong seed, long offset = 0) =>
        Apply("Dropout.Backward", dy, "dx", dx, p, seed, offset);

    /// <summary>
    /// y = x + mask · branch / (1 - p) in one pass: a residual connection whose branch is dropped out, the sum
    /// <see cref="Forward"/> then <see cref="Residual.Add"/> give, to the bit, without their two further passes over memory.
    /// y may be x or branch itself; the backward is <see cref="Backward"/> for the branch and the identity for x.
    /// </summary>
    /// <exception cref="ArgumentException">The buffers differ in length or are empty, y partly overlaps an input, or p is not in [0, 1).</exception>
    public static void AddToResidual(ReadOnlySpan<float> x, ReadOnlySpan<float> branch, Span<float> y, float p, ulong seed, long offset = 0)
    {
        const string op = "Dropout.AddToResidual";
        Validate(op, branch.Length, "y", y.Length, p);
        Check.Length(op, "x", x.Length, branch.Length);
        Residual.CheckAliasing(op, x, y);
        Residual.CheckAliasing(op, branch, y);
        if (p == 0f)
        {
            Residual.Add(x, branch, y);
            return;
        }
        fixed (float* i = branch) fixed (float* o = y) fixed (float* r = x)
            VectorJob.For(branch.Length, 8, new Job(i, o, p, 1f / (1f - p), seed, offset, r));
    }

    /// <summary>Whether element <paramref name="index"/> survives.</summary>
    internal static bool Keeps(ulong seed, long index, float p) => CounterRandom.Uniform(seed, index) >= p;

    internal static void Validate(string op, int inputLength, string output, int outputLength, float p)
    {
        Check.Positive(op, ("the input length", inputLength));
        Check.Length(op, output, outputLength, inputLength);
        if (!(p >= 0f && p < 1f)) throw new ArgumentException($"{op}: the drop probability p must be in [0, 1), got {p}.");
    }

    static void Apply(string op, ReadOnlySpan<float> input, string outputName, Span<float> output, float p, ulong seed, long offset)
    {
        Validate(op, input.Length, outputName, output.Length, p);
        if (p == 0f)
        {
            input.CopyTo(output);
            return;
        }
        fixed (float* i = input) fixed (float* o = output)
            VectorJob.For(input.Length, 8, new Job(i, o, p, 1f / (1f - p), seed, offset));
    }

    /// <summary>output = mask · input · scale, or residual + that when <paramref name="residual"/> is given.</summary>
    readonly struct Job(float* input, float* output, float p, float scale, ulong seed, long offset, float* residual = null) : IVectorJob
    {
        public long BytesMoved(int count) => (residual == null ? 8L : 12L) * count;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            int i = start;
            if (TOps.Count == Vector512<float>.Count) i = Run512(start, end);
            for (; i < end; i++)
            {
                float kept = Keeps(seed, offset + i, p) ? input[i] * scale : 0f;
                output[i] = residual == null ? kept : residual[i] + kept;
            }
        }

        /// <summary>
        /// <see cref="Keeps"/> for 16 elements at a time: u = (hash >> 40) · 2^-24 &gt;= p is the integer test
        /// hash >> 40 &gt;= ceil(p · 2^24). Returns where the scalar tail starts.
        /// </summary>
        int Run512(int start, int end)
        {
            var mixedSeed = Vector512.Create(CounterRandom.Mix(seed));
            var golden = Vector512.Create(CounterRandom.Golden);
            var threshold = Vector512.Create((ulong)Math.Ceiling(p * (double)(1 << 24)));
            var lanes = Vector512.Create(1UL, 2, 3, 4, 5, 6, 7, 8); // index + 1, as CounterRandom.Bits counts
            var scaleVector = Vector512.Create(scale);
            int i = start;
            for (; i + 16 <= end; i += 16)
            {
                var low = Keep(mixedSeed + (Vector512.Create((ulong)(offset + i)) + lanes) * golden, threshold);
                var high = Keep(mixedSeed + (Vector512.Create((ulong)(offset + i) + 8) + lanes) * golden, threshold);
                var mask = Vector512.Narrow(low, high).AsSingle();
                var kept = Vector512.Load(input + i) * scaleVector & mask;
                (residual == null ? kept : Vector512.Load(residual + i) + kept).Store(output + i);
            }
            return i;
        }

        /// <summary>All ones where the hash of counter z, shifted right by 40, reaches the threshold.</summary>
        static Vector512<ulong> Keep(Vector512<ulong> z, Vector512<ulong> threshold) =>
            Vector512.GreaterThanOrEqual(CounterRandom.Mix(z) >>> 40, threshold);
    }
}
