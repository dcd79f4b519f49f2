namespace MinRnn.Tests;

/// <summary>Central finite differences of a double-precision loss, and the comparison with an analytic gradient.</summary>
internal static class FiniteDifference
{
    /// <summary>dL/dx[i] ≈ (L(x + e_i h) - L(x - e_i h)) / 2h for every i; x is restored afterwards.</summary>
    public static double[] Gradient(double[] x, Func<double> loss, double step = 1e-6)
    {
        var gradient = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + step; double plus = loss();
            x[i] = saved - step; double minus = loss();
            x[i] = saved;
            gradient[i] = (plus - minus) / (2 * step);
        }
        return gradient;
    }

    /// <summary>
    /// Asserts |analytic - numeric| / (|analytic| + |numeric|) &lt;= relativeError element-wise; elements where both
    /// are below 1e-7 of the largest gradient are compared absolutely against that floor.
    /// </summary>
    public static void AssertMatches(double[] analytic, double[] numeric, string what, double relativeError = 1e-3)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        double scale = 0;
        foreach (double v in numeric) scale = Math.Max(scale, Math.Abs(v));
        double floor = 1e-7 * Math.Max(scale, 1e-3);
        for (int i = 0; i < numeric.Length; i++)
        {
            double a = analytic[i], n = numeric[i], diff = Math.Abs(a - n);
            if (diff <= floor) continue;
            double relative = diff / (Math.Abs(a) + Math.Abs(n));
            if (!(relative <= relativeError))
                Assert.Fail($"{what}[{i}]: analytic {a:R} vs finite difference {n:R} (relative error {relative:E2})");
        }
    }

    /// <summary>A scalar loss L = sum_i w_i y_i with fixed random weights, so every output contributes.</summary>
    public static double WeightedSum(double[] y, double[] weights)
    {
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += y[i] * weights[i];
        return sum;
    }
}
