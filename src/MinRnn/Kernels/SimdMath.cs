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
    /// softplus(x) and its slope σ(x) from one e = e^-|x|: softplus = max(x, 0) + log(1 + e), σ(x) = 1 / (1 + e) for
    /// x &gt;= 0 and e / (1 + e) below (Mamba's Δ = softplus(dt) and dΔ/d(dt)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SoftplusWithSlope<TOps, TV>(TV x, out TV slope) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV one = TOps.Broadcast(1f), e = TOps.Exp(TOps.Neg(TOps.Abs(x))), onePlusE = TOps.Add(one, e);
        TV inverse = TOps.Div(one, onePlusE);
        slope = TOps.SelectNonNegative(x, inverse, TOps.Mul(e, inverse));
        return TOps.Add(TOps.Max(x, TOps.Zero), TOps.Log(onePlusE));
    }

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

    /// <summary>tanh(x) = 2·sigmoid(2x) - 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct =>
        TOps.Sub(TOps.Mul(TOps.Broadcast(2f), Sigmoid<TOps, TV>(TOps.Add(x, x))), TOps.Broadcast(1f));

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

    /// <summary>
    /// e^x as in Cephes expf: x = n ln2 + r with |r| &lt;= ln2 / 2 (ln2 split in two for an exact
    /// product), e^r by a degree-6 polynomial, then scaled by 2^n. Out of range: 0 below -87.3, +inf above 88.7.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpPolynomial<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV low = TOps.Broadcast(-87.33654f), high = TOps.Broadcast(88.72283f);
        TV clamped = TOps.Min(TOps.Max(x, low), high);
        TV n = TOps.Round(TOps.Mul(clamped, TOps.Broadcast(1.44269504f)));
        TV r = TOps.Fma(n, TOps.Broadcast(-0.693359375f), clamped);
        r = TOps.Fma(n, TOps.Broadcast(2.12194440e-4f), r);
        TV p = TOps.Broadcast(1.9875691500e-4f);
        p = TOps.Fma(p, r, TOps.Broadcast(1.3981999507e-3f));
        p = TOps.Fma(p, r, TOps.Broadcast(8.3334519073e-3f));
        p = TOps.Fma(p, r, TOps.Broadcast(4.1665795894e-2f));
        p = TOps.Fma(p, r, TOps.Broadcast(1.6666665459e-1f));
        p = TOps.Fma(p, r, TOps.Broadcast(5.0000001201e-1f));
        p = TOps.Fma(p, TOps.Mul(r, r), TOps.Add(r, TOps.Broadcast(1f)));
        // n = 128 only at the very top of the range: scale by 2^127 twice.
        TV half = TOps.Mul(n, TOps.Broadcast(0.5f)), n1 = TOps.Round(half);
        TV result = TOps.ScaleByPowerOfTwo(TOps.ScaleByPowerOfTwo(p, n1), TOps.Sub(n, n1));
        result = TOps.SelectLess(x, low, TOps.Zero, result);
        return TOps.SelectLess(high, x, TOps.Broadcast(float.PositiveInfinity), result);
    }

    /// <summary>
    /// 2^x for x &lt;= 0, the decays of Mamba's selective scan, with less work than <see cref="ExpPolynomial{TOps, TV}"/>,
    /// whose range checks and split of ln 2 it does not need: x = n + f with n = round(x), |f| &lt;= 1/2, 2^f = 1 + f P(f) with
    /// Cephes exp2f's degree-5 P (within 2 ulp), then scaled by 2^n. Below -127 it gives 0 (2^-127 is under the smallest normal).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp2NonPositive<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct
    {
        x = TOps.Max(x, TOps.Broadcast(-127f));
        TV n = TOps.Round(x), f = TOps.Sub(x, n);
        TV p = TOps.Broadcast(1.535336188319500e-4f);
        p = TOps.Fma(p, f, TOps.Broadcast(1.339887440266574e-3f));
        p = TOps.Fma(p, f, TOps.Broadcast(9.618437357674640e-3f));
        p = TOps.Fma(p, f, TOps.Broadcast(5.550332471162809e-2f));
        p = TOps.Fma(p, f, TOps.Broadcast(2.402264791363012e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(6.931472028550421e-1f));
        return TOps.ScaleByPowerOfTwo(TOps.Fma(p, f, TOps.Broadcast(1f)), n);
    }

    /// <summary>
    /// Below this |x| the standard normal distribution function Φ(x) comes from <see cref="NormalCdfOddPart{TOps, TV}"/>,
    /// from here on from the tail <see cref="NormalTail{TOps, TV}"/>, whose 7 ulp or so relative to Q &lt;= Q(1) = 0.16 are
    /// about one ulp of 1 - Q.
    /// </summary>
    public const float NormalCdfSplit = 1f;

    /// <summary>
    /// Where the standard normal tail and density have long underflowed to 0: e^(-t²/2) does from t = 13.22 on
    /// (<see cref="ExpPolynomial{TOps, TV}"/> is 0 below -87.3), so <see cref="NormalTailArgument{TOps, TV}"/> stops here.
    /// </summary>
    public const float NormalTailEnd = 14f;

    /// <summary>
    /// t = min(|x|, <see cref="NormalTailEnd"/>), the argument <see cref="NormalTail{TOps, TV}"/> expects: ±∞ become 14,
    /// where Q and φ are 0 already. NaN stays NaN (a comparison decides, not Min, whose NaN handling differs between widths).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV NormalTailArgument<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV a = TOps.Abs(x), end = TOps.Broadcast(NormalTailEnd);
        return TOps.SelectLess(end, a, end, a);
    }

    /// <summary>
    /// S(x²) with Φ(x) = 1/2 + x S(x²) for |x| &lt; <see cref="NormalCdfSplit"/>, the odd part of Φ: the form
    /// erf(z) = z P(z²) of Cephes' erff and fdlibm's erf near 0, here in standard deviations, S of degree 5 in x², its
    /// coefficients a minimax fit of the relative error over x² in [0, 1]: 3.4e-8 with them rounded to float (of which
    /// 2.8e-8 is S(0) = 1/√(2π) itself).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV NormalCdfOddPart<TOps, TV>(TV square) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV s = TOps.Broadcast(-7.654207366e-6f);
        s = TOps.Fma(s, square, TOps.Broadcast(1.134863705e-4f));
        s = TOps.Fma(s, square, TOps.Broadcast(-1.186329988e-3f));
        s = TOps.Fma(s, square, TOps.Broadcast(9.973322973e-3f));
        s = TOps.Fma(s, square, TOps.Broadcast(-6.649035960e-2f));
        return TOps.Fma(s, square, TOps.Broadcast(3.989422917e-1f));
    }

    /// <summary>
    /// The standard normal upper tail Q(t) = P(Z &gt; t) = erfc(t/√2)/2 for t in [<see cref="NormalCdfSplit"/>,
    /// <see cref="NormalTailEnd"/>] (see <see cref="NormalTailArgument{TOps, TV}"/>), and the density
    /// φ(t) = e^(-t²/2)/√(2π) for t in [0, 14], both relative to themselves, so that Q keeps its precision deep in the
    /// tail, where it is tiny: Q within 5e-7 (measured 4.2e-7, some 7 ulp: 2 from the exp, 1 from u, the rest from F and
    /// the products), φ within the exp's 2 ulp and one rounding. NaN gives NaN.
    /// <para>
    /// Q(t) = e^(-t²/2) u F(u) with u = 1 / (1 + p t): the form of Hastings' approximations to erfc (Abramowitz and
    /// Stegun 7.1.25-7.1.28, e.g. 7.1.26: erfc(z) ≈ u (a1 + a2 u + ... + a5 u⁴) e^(-z²), u = 1 / (1 + 0.3275911 z),
    /// absolute error 1.5e-7), here in standard deviations with p = 0.3 and F of degree 8, its coefficients a minimax fit
    /// of the relative error over t in [1, 14]: 2.5e-8 with them rounded to float. e^(-t²/2) is taken as
    /// e^(-h/2) (1 - l/2), t² = h + l split exactly by a fused multiply-add, since the rounding of t² alone would cost
    /// up to t² 2^-25 relative (1.5e-6 at t = 7).
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV NormalTail<TOps, TV>(TV t, out TV density) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV one = TOps.Broadcast(1f), minusHalf = TOps.Broadcast(-0.5f);
        TV square = TOps.Mul(t, t), low = TOps.Fma(t, t, TOps.Neg(square));
        TV gaussian = TOps.Mul(TOps.Exp(TOps.Mul(square, minusHalf)), TOps.Fma(low, minusHalf, one));
        density = TOps.Mul(gaussian, TOps.Broadcast(0.398942280f)); // 1/√(2π)
        TV u = TOps.Div(one, TOps.Fma(TOps.Broadcast(0.3f), t, one));
        TV f = TOps.Broadcast(2.492270432e-2f);
        f = TOps.Fma(f, u, TOps.Broadcast(-6.721458584e-2f));
        f = TOps.Fma(f, u, TOps.Broadcast(2.352359891e-2f));
        f = TOps.Fma(f, u, TOps.Broadcast(3.048727103e-2f));
        f = TOps.Fma(f, u, TOps.Broadcast(4.969078675e-2f));
        f = TOps.Fma(f, u, TOps.Broadcast(9.108715504e-2f));
        f = TOps.Fma(f, u, TOps.Broadcast(1.080747321e-1f));
        f = TOps.Fma(f, u, TOps.Broadcast(1.197794825e-1f));
        f = TOps.Fma(f, u, TOps.Broadcast(1.196781024e-1f)); // F(0) ≈ p/√(2π): Q(t) → φ(t)/t for large t
        return TOps.Mul(TOps.Mul(gaussian, u), f);
    }

    /// <summary>
    /// The standard normal distribution function Φ(x) = (1 + erf(x/√2))/2: 1/2 + x S(x²) for |x| &lt; 1
    /// (<see cref="NormalCdfOddPart{TOps, TV}"/>), else Q(|x|) below 0 and 1 - Q(|x|) above
    /// (<see cref="NormalTail{TOps, TV}"/>): within 1e-7 absolute (measured 7.9e-8), and 5e-7 relative below 0;
    /// 0 at -∞, 1 at +∞, NaN for NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV NormalCdf<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV t = NormalTailArgument<TOps, TV>(x), q = NormalTail<TOps, TV>(t, out _);
        TV central = TOps.Fma(x, NormalCdfOddPart<TOps, TV>(TOps.Mul(x, x)), TOps.Broadcast(0.5f));
        return TOps.SelectLess(t, TOps.Broadcast(NormalCdfSplit), central,
            TOps.SelectNonNegative(x, TOps.Sub(TOps.Broadcast(1f), q), q));
    }

    /// <summary>
    /// ln x as in Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln(1 + f) for f = m - 1 by
    /// f - f²/2 + f³ P(f), plus e ln2 (split in two). Below the smallest normal: -inf; +inf stays +inf.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogPolynomial<TOps, TV>(TV x) where TOps : struct, ISimd<TV> where TV : struct
    {
        TV one = TOps.Broadcast(1f);
        TV m = TOps.Decompose(x, out TV e);
        TV big = TOps.SelectLess(TOps.Broadcast(1.41421356f), m, one, TOps.Zero);
        m = TOps.Mul(m, TOps.Sub(one, TOps.Mul(big, TOps.Broadcast(0.5f))));
        e = TOps.Add(e, big);
        TV f = TOps.Sub(m, one), f2 = TOps.Mul(f, f);
        TV p = TOps.Broadcast(7.0376836292e-2f);
        p = TOps.Fma(p, f, TOps.Broadcast(-1.1514610310e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(1.1676998740e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(-1.2420140846e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(1.4249322787e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(-1.6668057665e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(2.0000714765e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(-2.4999993993e-1f));
        p = TOps.Fma(p, f, TOps.Broadcast(3.3333331174e-1f));
        TV y = TOps.Mul(TOps.Mul(p, f), f2);
        y = TOps.Fma(e, TOps.Broadcast(-2.12194440e-4f), y);
        y = TOps.Fma(f2, TOps.Broadcast(-0.5f), y);
        TV result = TOps.Fma(e, TOps.Broadcast(0.693359375f), TOps.Add(f, y));
        result = TOps.SelectLess(x, TOps.Broadcast(1.17549435e-38f), TOps.Broadcast(float.NegativeInfinity), result);
        return TOps.SelectLess(TOps.Broadcast(float.MaxValue), x, TOps.Broadcast(float.PositiveInfinity), result);
    }
}
