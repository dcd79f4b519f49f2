using System.Runtime.CompilerServices;

namespace MinRnn.Kernels;

/// <summary>Numerically careful activation functions, generic over the vector width.</summary>
internal static class SimdMath
{
    /// <summary>softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), which never overflows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Softplus<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Add(TOps.Max(x, TOps.Zero), TOps.Log(TOps.Add(TOps.Broadcast(1f), TOps.Exp(TOps.Neg(TOps.Abs(x))))));

    /// <summary>
    /// z = sigmoid(x) and a = 1 - z = sigmoid(-x), each computed directly from e = e^-|x| so that
    /// neither loses its relative precision when the other is close to 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SigmoidPair<TOps, TV>(TV x, out TV z, out TV a) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV e = TOps.Exp(TOps.Neg(TOps.Abs(x)));
        TV large = TOps.Div(TOps.Broadcast(1f), TOps.Add(TOps.Broadcast(1f), e)); // sigmoid(|x|)
        TV small = TOps.Mul(e, large);                                            // sigmoid(-|x|)
        z = TOps.SelectNonNegative(x, large, small);
        a = TOps.SelectNonNegative(x, small, large);
    }

    /// <summary>sigmoid(x) = 1 / (1 + e^-x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Div(TOps.Broadcast(1f), TOps.Add(TOps.Broadcast(1f), TOps.Exp(TOps.Neg(x))));

    /// <summary>The minRNN candidate map g(u) = u + 0.5 for u &gt;= 0, sigmoid(u) otherwise (always &gt; 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV G<TOps, TV>(TV u) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV e = TOps.Exp(TOps.Min(u, TOps.Zero));
        return TOps.SelectNonNegative(u, TOps.Add(u, TOps.Broadcast(0.5f)), TOps.Div(e, TOps.Add(TOps.Broadcast(1f), e)));
    }

    /// <summary>g'(u) = 1 for u &gt;= 0, sigmoid(u)(1 - sigmoid(u)) = g (1 - g) otherwise, from g = g(u).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV GDerivative<TOps, TV>(TV u, TV g) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV one = TOps.Broadcast(1f);
        return TOps.SelectNonNegative(u, one, TOps.Mul(g, TOps.Sub(one, g)));
    }

    /// <summary>log g(u) = log(u + 0.5) for u &gt;= 0, -softplus(-u) = u - log(1 + e^u) otherwise (one log for both).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogG<TOps, TV>(TV u) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV argument = TOps.SelectNonNegative(u, TOps.Add(u, TOps.Broadcast(0.5f)),
            TOps.Add(TOps.Broadcast(1f), TOps.Exp(TOps.Min(u, TOps.Zero))));
        TV log = TOps.Log(argument);
        return TOps.SelectNonNegative(u, log, TOps.Sub(u, log));
    }

    /// <summary>log(e^x + e^y) = max + log(1 + e^-|x - y|); an argument of -inf simply drops out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogAddExp<TOps, TV>(TV x, TV y) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Add(TOps.Max(x, y), TOps.Log(TOps.Add(TOps.Broadcast(1f), TOps.Exp(TOps.Neg(TOps.Abs(TOps.Sub(x, y)))))));
}
