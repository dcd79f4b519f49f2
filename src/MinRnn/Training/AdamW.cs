using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Training;

/// <summary>AdamW hyper-parameters; the defaults are PyTorch's.</summary>
internal sealed record AdamWOptions
{
    /// <summary>Step size lr.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Decay rate β1 of the first-moment average.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Decay rate β2 of the second-moment average.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>ε added to sqrt(v̂) in the denominator.</summary>
    public float Epsilon { get; init; } = 1e-8f;
    /// <summary>Decoupled weight decay λ: each step first multiplies the parameters by 1 - lr·λ.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    internal void Validate(string op)
    {
        if (!(LearningRate >= 0f && float.IsFinite(LearningRate)) || !(Beta1 >= 0f && Beta1 < 1f) || !(Beta2 >= 0f && Beta2 < 1f)
            || !(Epsilon > 0f && float.IsFinite(Epsilon)) || !(WeightDecay >= 0f && float.IsFinite(WeightDecay)))
            throw new ArgumentException($"{op}: invalid options {this}: need lr >= 0, 0 <= β1, β2 < 1, ε > 0 and weight decay >= 0, all finite.");
    }
}

/// <summary>
/// One AdamW step (Loshchilov and Hutter; PyTorch's torch.optim.AdamW), elementwise for step t &gt;= 1:
/// p -= lr·λ·p; m = β1 m + (1 - β1) g; v = β2 v + (1 - β2) g²; p -= lr · m̂ / (sqrt(v̂) + ε)
/// with m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t). <see cref="AdamWReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class AdamW
{
    /// <summary>
    /// Updates <paramref name="parameters"/> and the moment buffers <paramref name="m"/> and <paramref name="v"/>
    /// (zero before step 1) in place from <paramref name="gradients"/>. With <paramref name="decay"/> false the
    /// weight-decay term is skipped (usual for biases and norm weights).
    /// </summary>
    /// <exception cref="ArgumentException">The spans are empty or differ in length, <paramref name="step"/> is
    /// below 1, or an option is out of range.</exception>
    public static void Step(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, int step,
        AdamWOptions options, bool decay = true)
    {
        const string op = "AdamW.Step";
        Validate(op, parameters.Length, gradients.Length, m.Length, v.Length, step, options);
        // Per-step constants in double: lr / (1 - β1^t) and 1 / sqrt(1 - β2^t), as PyTorch folds them.
        double stepSize = options.LearningRate / (1 - Math.Pow(options.Beta1, step));
        double rootCorrection = 1 / Math.Sqrt(1 - Math.Pow(options.Beta2, step));
        float keep = decay ? 1f - options.LearningRate * options.WeightDecay : 1f;
        fixed (float* p = parameters) fixed (float* g = gradients) fixed (float* pm = m) fixed (float* pv = v)
            VectorJob.For(parameters.Length, 12, new Job(p, g, pm, pv, keep, options.Beta1, options.Beta2, (float)stepSize,
                (float)rootCorrection, options.Epsilon));
    }

    internal static void Validate(string op, int parameters, int gradients, int m, int v, int step, AdamWOptions options)
    {
        Check.Positive(op, ("parameters.Length", parameters), ("step", step));
        Check.Length(op, "gradients", gradients, parameters);
        Check.Length(op, "m", m, parameters);
        Check.Length(op, "v", v, parameters);
        options.Validate(op);
    }

    readonly struct Job(float* parameters, float* gradients, float* moment1, float* moment2, float keep, float beta1, float beta2,
        float stepSize, float rootCorrection, float epsilon) : IVectorJob
    {
        public long BytesMoved(int count) => 28L * count; // parameter, gradient and both moments in; all but the gradient out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct =>
            Body<TOps, TV>(parameters + start, gradients + start, moment1 + start, moment2 + start, end - start);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Body<TOps, TV>(float* p, float* g, float* m, float* v, int n) where TOps : struct, ISimd<TV> where TV : struct
        {
            TV k = TOps.Broadcast(keep), b1 = TOps.Broadcast(beta1), b2 = TOps.Broadcast(beta2);
            TV a1 = TOps.Broadcast(1f - beta1), a2 = TOps.Broadcast(1f - beta2);
            TV size = TOps.Broadcast(stepSize), root = TOps.Broadcast(rootCorrection), eps = TOps.Broadcast(epsilon);
            int i = 0;
            for (; i <= n - TOps.Count; i += TOps.Count)
            {
                TV gi = TOps.Load(g + i);
                TV mi = TOps.Fma(b1, TOps.Load(m + i), TOps.Mul(a1, gi));
                TV vi = TOps.Fma(b2, TOps.Load(v + i), TOps.Mul(a2, TOps.Mul(gi, gi)));
                TV denominator = TOps.Fma(TOps.Sqrt(vi), root, eps); // sqrt(v̂) + ε
                TV pi = TOps.Mul(TOps.Load(p + i), k);
                TOps.Store(p + i, TOps.Sub(pi, TOps.Div(TOps.Mul(size, mi), denominator)));
                TOps.Store(m + i, mi);
                TOps.Store(v + i, vi);
            }
            if (i < n) Body<SimdScalar, float>(p + i, g + i, m + i, v + i, n - i);
        }
    }
}
