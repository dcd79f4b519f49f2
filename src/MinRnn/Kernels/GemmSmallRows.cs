using System.Runtime.CompilerServices;

namespace MinRnn.Kernels;

/// <summary>
/// C = A · Bᵀ (+ C) for a few rows of A, as in generation where one step multiplies a handful of
/// streams by each weight matrix. Packing would copy all of B to use it a few times, so instead each
/// row of B (a weight row, contiguous) is read once and dotted with every row of A while it sits in
/// L1. Threads split the columns of C; each element is one dot product in a fixed order.
/// </summary>
internal static unsafe class GemmSmallRows
{
    /// <summary>Products with at most this many rows of A take this path.</summary>
    public const int MaxRows = 4;

    const long SerialMultiplies = 1L << 17;

    public static bool Applies(int m, bool transposeA, bool transposeB) => m <= MaxRows && transposeB && !transposeA;

    public static void Run<TOps, TV>(float* a, float* b, float* c, float* bias, int m, int n, int k, bool accumulate)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        if ((long)m * n * k < SerialMultiplies || Parallelism.Threads == 1)
        {
            Columns<TOps, TV>(a, b, c, bias, m, n, k, accumulate, 0, n);
            return;
        }
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c, pbias = (nint)bias;
        Parallelism.For(n, (j0, j1) => Columns<TOps, TV>((float*)pa, (float*)pb, (float*)pc, (float*)pbias, m, n, k, accumulate, j0, j1));
    }

    static void Columns<TOps, TV>(float* a, float* b, float* c, float* bias, int m, int n, int k, bool accumulate, int j0, int j1)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        for (int j = j0; j < j1; j++)
        {
            float* row = b + (long)j * k;
            for (int i = 0; i < m; i++)
            {
                float dot = Dot<TOps, TV>(a + (long)i * k, row, k);
                float* target = c + (long)i * n + j;
                *target = accumulate ? *target + dot : bias == null ? dot : bias[j] + dot;
            }
        }
    }

    /// <summary>Σ x[p] y[p] with four vector accumulators, then the lanes, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<TOps, TV>(float* x, float* y, int k) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count, p = 0;
        TV s0 = TOps.Zero, s1 = TOps.Zero, s2 = TOps.Zero, s3 = TOps.Zero;
        for (; p + 4 * w <= k; p += 4 * w)
        {
            s0 = TOps.Fma(TOps.Load(x + p), TOps.Load(y + p), s0);
            s1 = TOps.Fma(TOps.Load(x + p + w), TOps.Load(y + p + w), s1);
            s2 = TOps.Fma(TOps.Load(x + p + 2 * w), TOps.Load(y + p + 2 * w), s2);
            s3 = TOps.Fma(TOps.Load(x + p + 3 * w), TOps.Load(y + p + 3 * w), s3);
        }
        for (; p + w <= k; p += w) s0 = TOps.Fma(TOps.Load(x + p), TOps.Load(y + p), s0);
        float sum = TOps.Sum(TOps.Add(TOps.Add(s0, s1), TOps.Add(s2, s3)));
        for (; p < k; p++) sum = MathF.FusedMultiplyAdd(x[p], y[p], sum);
        return sum;
    }
}
