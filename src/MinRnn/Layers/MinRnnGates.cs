using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Both cells are h_t = (1 - z_t) h_{t-1} + z_t g(u_t) with z_t = sigmoid(x_t) for a "gate logit" x_t:
/// minGRU: x = k, so log z = -softplus(-k) and log(1 - z) = -softplus(k).
/// minLSTM: x = d = softplus(-p) - softplus(-k), since f' = sigmoid(-d) and i' = sigmoid(d) (spec §1).
/// A gate policy says where x comes from in a pre-activation row and how its gradient flows back.
/// </summary>
internal unsafe interface IMinRnnGate
{
    /// <summary>Pre-activations per hidden unit; the candidate u is the last group.</summary>
    static abstract int Gates { get; }

    /// <summary>The gate logit x at <paramref name="row"/> (a row offset to the channel), groups <paramref name="hidden"/> apart.</summary>
    static abstract TV Logit<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct;

    /// <summary>Writes dL/d(pre-activations of the gate) into <paramref name="gradRow"/> given dL/dx.</summary>
    static abstract void LogitBackward<TOps, TV>(float* row, float* gradRow, int hidden, TV dx) where TOps : struct, ISimd<TV> where TV : struct;
}

/// <summary>minGRU: the gate logit is k itself (group 0); u is group 1.</summary>
internal unsafe struct MinGruGate : IMinRnnGate
{
    public static int Gates => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Logit<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct => TOps.Load(row);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LogitBackward<TOps, TV>(float* row, float* gradRow, int hidden, TV dx) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Store(gradRow, dx);
}

/// <summary>minLSTM: d = softplus(-p) - softplus(-k) from groups 0 (p) and 1 (k); u is group 2.</summary>
internal unsafe struct MinLstmGate : IMinRnnGate
{
    public static int Gates => 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Logit<TOps, TV>(float* row, int hidden) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Sub(SimdMath.Softplus<TOps, TV>(TOps.Neg(TOps.Load(row))), SimdMath.Softplus<TOps, TV>(TOps.Neg(TOps.Load(row + hidden))));

    /// <summary>dd/dp = -sigmoid(-p), dd/dk = sigmoid(-k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LogitBackward<TOps, TV>(float* row, float* gradRow, int hidden, TV dx) where TOps : struct, ISimd<TV> where TV : struct
    {
        TOps.Store(gradRow, TOps.Neg(TOps.Mul(dx, SimdMath.Sigmoid<TOps, TV>(TOps.Neg(TOps.Load(row))))));
        TOps.Store(gradRow + hidden, TOps.Mul(dx, SimdMath.Sigmoid<TOps, TV>(TOps.Neg(TOps.Load(row + hidden)))));
    }
}
