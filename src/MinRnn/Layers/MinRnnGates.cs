using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Both cells are h_t = (1 - z_t) h_{t-1} + z_t g(u_t) with z_t = sigmoid(x_t) for a "gate logit" x_t:
/// minGRU: x = k, so log z = -softplus(-k) and log(1 - z) = -softplus(k).
/// minLSTM: x = d = softplus(-p) - softplus(-k), since f' = sigmoid(-d) and i' = sigmoid(d) (spec §1).
/// A gate policy says where x comes from in a pre-activation row (for the log-space scan), how z and
/// 1 - z are formed (for the sequential scan and the backward), and how its gradient flows back.
/// </summary>
internal unsafe interface IMinRnnGate
{
    /// <summary>Pre-activations per hidden unit; the candidate u is the last group.</summary>
    static abstract int Gates { get; }

    /// <summary>The gate logit x at <paramref name="row"/> (a row offset to the channel), groups <paramref name="hidden"/> apart.</summary>
    static abstract TV Logit<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct;

    /// <summary>The sum of the gate's pre-activations: finite exactly when all of them are.</summary>
    static abstract TV InputSum<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct;

    /// <summary>z = sigmoid(x) and a = 1 - z, each to full relative precision.</summary>
    static abstract void Gate<TOps, TV>(float* row, int hidden, out TV z, out TV a) where TOps : struct, ISimd<TV> where TV : struct;

    /// <summary>
    /// The gate's part of the backward: z and a as <see cref="Gate"/> gives them, and dL/d(pre-activations of
    /// the gate) written into <paramref name="gradRow"/> from dL/dz·z(1 - z) = <paramref name="gradientTimesSlope"/>·z·a,
    /// which the caller cannot form before it has z and a: dL/dx = gradientTimesSlope·z·a.
    /// </summary>
    static abstract void GateBackward<TOps, TV>(float* row, float* gradRow, int hidden, TV gradientTimesSlope, out TV z, out TV a)
        where TOps : struct, ISimd<TV> where TV : struct;
}

/// <summary>minGRU: the gate logit is k itself (group 0); u is group 1.</summary>
internal unsafe struct MinGruGate : IMinRnnGate
{
    public static int Gates => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Logit<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct => TOps.Load(row);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV InputSum<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct => TOps.Load(row);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Gate<TOps, TV>(float* row, int hidden, out TV z, out TV a) where TOps : struct, ISimd<TV> where TV : struct =>
        SimdMath.SigmoidPair<TOps, TV>(TOps.Load(row), out z, out a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GateBackward<TOps, TV>(float* row, float* gradRow, int hidden, TV gradientTimesSlope, out TV z, out TV a)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        SimdMath.SigmoidPair<TOps, TV>(TOps.Load(row), out z, out a);
        TOps.Store(gradRow, TOps.Mul(TOps.Mul(gradientTimesSlope, z), a));
    }
}

/// <summary>
/// minLSTM: d = softplus(-p) - softplus(-k) from groups 0 (p) and 1 (k); u is group 2. Directly,
/// z = σ(k) / (σ(p) + σ(k)) = (1 + e^-p) / (2 + e^-p + e^-k) and a = (1 + e^-k) / (2 + e^-p + e^-k); scaled by
/// e^-m with m = max(0, -p, -k) no exponential overflows and the denominator is at least 1. Three
/// exponentials and one division give z, a and, in the backward, σ(-p) = e^-p / (1 + e^-p) and σ(-k)
/// likewise: dd/dp = -σ(-p), dd/dk = σ(-k).
/// </summary>
internal unsafe struct MinLstmGate : IMinRnnGate
{
    public static int Gates => 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Logit<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Sub(SimdMath.Softplus<TOps, TV>(TOps.Neg(TOps.Load(row))), SimdMath.Softplus<TOps, TV>(TOps.Neg(TOps.Load(row + hidden))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV InputSum<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Add(TOps.Load(row), TOps.Load(row + hidden));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Gate<TOps, TV>(float* row, int hidden, out TV z, out TV a) where TOps : struct, ISimd<TV> where TV : struct =>
        Scaled<TOps, TV>(row, hidden, out z, out a, out _, out _, out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GateBackward<TOps, TV>(float* row, float* gradRow, int hidden, TV gradientTimesSlope, out TV z, out TV a)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        Scaled<TOps, TV>(row, hidden, out z, out a, out TV one, out TV ep, out TV ek);
        TV dx = TOps.Mul(TOps.Mul(gradientTimesSlope, z), a);
        // Both terms of a denominator underflow together only when its sigmoid is below e^-87: the slope is 0 then.
        TV floor = TOps.Broadcast(1.17549435e-38f);
        TOps.Store(gradRow, TOps.Neg(TOps.Div(TOps.Mul(dx, ep), TOps.Max(TOps.Add(one, ep), floor))));
        TOps.Store(gradRow + hidden, TOps.Div(TOps.Mul(dx, ek), TOps.Max(TOps.Add(one, ek), floor)));
    }

    /// <summary>z and a with the scaled exponentials e^-m, e^-p-m, e^-k-m they are made of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Scaled<TOps, TV>(float* row, int hidden, out TV z, out TV a, out TV one, out TV ep, out TV ek)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        TV minusP = TOps.Neg(TOps.Load(row)), minusK = TOps.Neg(TOps.Load(row + hidden));
        TV m = TOps.Max(TOps.Max(minusP, minusK), TOps.Zero);
        one = TOps.Exp(TOps.Neg(m));
        ep = TOps.Exp(TOps.Sub(minusP, m));
        ek = TOps.Exp(TOps.Sub(minusK, m));
        TV forget = TOps.Add(one, ek), input = TOps.Add(one, ep);
        TV inverse = TOps.Div(TOps.Broadcast(1f), TOps.Add(forget, input));
        z = TOps.Mul(input, inverse);
        a = TOps.Mul(forget, inverse);
    }
}
