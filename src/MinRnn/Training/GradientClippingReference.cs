namespace MinRnn.Training;

/// <summary>The plain double-precision oracle for <see cref="GradientClipping"/>.</summary>
internal static class GradientClippingReference
{
    /// <summary>sqrt(Σ g²) over every element of every tensor.</summary>
    public static double GlobalNorm(params double[][] gradients)
    {
        double sum = 0;
        foreach (var g in gradients)
            foreach (double x in g) sum += x * x;
        return Math.Sqrt(sum);
    }

    /// <summary>Scales every gradient by maxNorm / norm when the norm exceeds maxNorm; returns the norm before clipping.</summary>
    public static double ClipByGlobalNorm(double maxNorm, params double[][] gradients)
    {
        double norm = GlobalNorm(gradients);
        if (norm > maxNorm && double.IsFinite(norm))
            foreach (var g in gradients)
                for (int i = 0; i < g.Length; i++) g[i] *= maxNorm / norm;
        return norm;
    }
}
