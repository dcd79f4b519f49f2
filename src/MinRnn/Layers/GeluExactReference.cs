namespace MinRnn.Layers;

/// <summary>
/// The plain double-precision oracle for <see cref="GeluExact"/>: gelu(x) = x Φ(x), gelu'(x) = Φ(x) + x φ(x), with
/// Φ(x) = erfc(-x/√2)/2 and φ(x) = e^(-x²/2)/√(2π). .NET has no erf, so <see cref="Erf"/> and <see cref="Erfc"/> are
/// here: erf within 1e-15 relative and erfc within 4e-15 (checked against 30-digit values on [-8, 8]). At ±∞ the
/// limits are taken (gelu(-∞) = -0, gelu'(±∞) = 1 and 0) where the formulas would give ∞ · 0.
/// </summary>
internal static class GeluExactReference
{
    const double TwoOverSqrtPi = 1.1283791670955126, OverSqrtPi = 0.5641895835477563;
    const double OverSqrt2 = 0.7071067811865476, OverSqrt2Pi = 0.3989422804014327;

    /// <summary>
    /// Below this, erf comes from its series and erfc as 1 - erf (losing under a digit: erfc(1) = 0.16); from here on
    /// erfc comes from its continued fraction and erf as 1 - erfc.
    /// </summary>
    const double SeriesEnd = 1;

    /// <summary>erf(x) = (2/√π) ∫₀ˣ e^(-s²) ds.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        return Math.CopySign(a < SeriesEnd ? ErfSeries(a) : 1 - ErfcContinuedFraction(a), x);
    }

    /// <summary>erfc(x) = 1 - erf(x), without the cancellation for large x.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x), tail = a < SeriesEnd ? 1 - ErfSeries(a) : ErfcContinuedFraction(a); // erfc(|x|)
        return x < 0 ? 2 - tail : tail;
    }

    /// <summary>Φ(x) = P(Z &lt;= x) = erfc(-x/√2)/2 for a standard normal Z.</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x * OverSqrt2);

    /// <summary>y = x Φ(x).</summary>
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        Gelu.ValidateForward("GeluExactReference.Forward", x.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = double.IsNegativeInfinity(v) ? -0.0 : v * NormalCdf(v);
        }
    }

    /// <summary>dx = dy · (Φ(x) + x e^(-x²/2)/√(2π)).</summary>
    public static void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> dy, Span<double> dx)
    {
        Gelu.ValidateBackward("GeluExactReference.Backward", x.Length, dy.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double slope = double.IsInfinity(v) ? 0 : v * OverSqrt2Pi * Math.Exp(-0.5 * v * v);
            dx[i] = dy[i] * (NormalCdf(v) + slope);
        }
    }

    /// <summary>
    /// erf(a) = (2/√π) e^(-a²) Σₙ (2a²)ⁿ a / (1 · 3 ··· (2n + 1)) (Abramowitz and Stegun 7.1.6) for a &gt;= 0: every term
    /// is positive, so nothing cancels; under 20 terms below <see cref="SeriesEnd"/>.
    /// </summary>
    static double ErfSeries(double a)
    {
        double twoSquare = 2 * a * a, term = a, sum = a;
        for (int n = 1; term > 1e-17 * sum; n++)
        {
            term *= twoSquare / (2 * n + 1);
            sum += term;
        }
        return TwoOverSqrtPi * ExpMinusSquare(a) * sum;
    }

    /// <summary>
    /// erfc(a) = e^(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))) (Abramowitz and Stegun 7.1.14) for
    /// a &gt;= <see cref="SeriesEnd"/>, by the modified Lentz method: about 190 terms at 1, fewer further out (30 at 3).
    /// 0 beyond 27, where e^(-a²) underflows (and for +∞).
    /// </summary>
    static double ErfcContinuedFraction(double a)
    {
        if (a > 27) return 0;
        double f = a, c = a, d = 0;
        for (int n = 1; n < 1000; n++)
        {
            double k = 0.5 * n;
            d = 1 / (a + k * d);
            c = a + k / c;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return OverSqrtPi * ExpMinusSquare(a) / f;
    }

    /// <summary>e^(-a²), with a² split exactly into its rounded value and the rounding error (a fused multiply-add).</summary>
    static double ExpMinusSquare(double a)
    {
        double square = a * a, low = Math.FusedMultiplyAdd(a, a, -square);
        return Math.Exp(-square) * (1 - low);
    }
}
