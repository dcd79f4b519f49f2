using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Inverted dropout for training: element i is kept iff <see cref="CounterRandom.Uniform"/>(seed, i) &gt;= p,
/// and kept elements are scaled by 1 / (1 - p). The mask is a pure function of (seed, i), so it is
/// never stored, backward recomputes it, and it does not depend on the thread count. Callers give
/// every dropout site and step its own seed. p = 0 is the identity. The hash is 64-bit integer
/// arithmetic, so the loop is scalar. <see cref="DropoutReference"/> is the double-precision oracle.
/// </summary>
public static unsafe class Dropout
{
    /// <summary>y = mask · x / (1 - p). y may be x itself.</summary>
    /// <exception cref="ArgumentException">x is empty, y's length differs from x's, or p is not in [0, 1).</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, float p, ulong seed) => Apply("Dropout.Forward", x, "y", y, p, seed);

    /// <summary>dx = mask · dy / (1 - p), the same map as forward. dx may be dy itself.</summary>
    /// <exception cref="ArgumentException">dy is empty, dx's length differs from dy's, or p is not in [0, 1).</exception>
    public static void Backward(ReadOnlySpan<float> dy, Span<float> dx, float p, ulong seed) => Apply("Dropout.Backward", dy, "dx", dx, p, seed);

    /// <summary>Whether element <paramref name="index"/> survives.</summary>
    internal static bool Keeps(ulong seed, long index, float p) => CounterRandom.Uniform(seed, index) >= p;

    internal static void Validate(string op, int inputLength, string output, int outputLength, float p)
    {
        Check.Positive(op, ("the input length", inputLength));
        Check.Length(op, output, outputLength, inputLength);
        if (!(p >= 0f && p < 1f)) throw new ArgumentException($"{op}: the drop probability p must be in [0, 1), got {p}.");
    }

    static void Apply(string op, ReadOnlySpan<float> input, string outputName, Span<float> output, float p, ulong seed)
    {
        Validate(op, input.Length, outputName, output.Length, p);
        if (p == 0f)
        {
            input.CopyTo(output);
            return;
        }
        fixed (float* i = input) fixed (float* o = output)
            VectorJob.For(input.Length, 8, new Job(i, o, p, 1f / (1f - p), seed));
    }

    readonly struct Job(float* input, float* output, float p, float scale, ulong seed) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int i = start; i < end; i++) output[i] = Keeps(seed, i, p) ? input[i] * scale : 0f;
        }
    }
}
