using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// The plain double-precision oracle for <see cref="CausalAttention"/>: the full T x T matrices of one
/// (batch, head) pair at a time, the softmax with its maximum subtracted, the same dropout mask
/// (<see cref="Dropout.Keeps"/> of <see cref="CausalAttention.MaskIndex"/>), and the backward by the
/// chain rule from qkv and dy alone (it recomputes the forward instead of taking y and L).
/// Layouts are those of <see cref="CausalAttention"/>.
/// </summary>
internal static class CausalAttentionReference
{
    /// <summary>y [batch, time, dim] and logSumExp [batch, heads, time] from qkv [batch, time, 3·dim].</summary>
    public static void Forward(ReadOnlySpan<double> qkv, Span<double> y, Span<double> logSumExp, int batch, int time, int heads, int dim,
        float dropout = 0, ulong seed = 0)
    {
        const string op = "CausalAttentionReference.Forward";
        CausalAttention.Validate(op, qkv.Length, batch, time, heads, dim, dropout);
        Check.Length(op, "y", y.Length, batch, time, dim);
        Check.Length(op, "logSumExp", logSumExp.Length, batch, heads, time);
        int size = dim / heads;
        for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
        {
            var (p, kept, lse) = Weights(qkv, b, h, time, heads, dim, dropout, seed);
            for (int i = 0; i < time; i++)
            {
                logSumExp[(b * heads + h) * time + i] = lse[i];
                for (int c = 0; c < size; c++)
                {
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += p[i, j] * kept[i, j] * V(qkv, b, j, h, c, time, dim, size);
                    y[(b * time + i) * dim + h * size + c] = sum;
                }
            }
        }
    }

    /// <summary>dQkv [batch, time, 3·dim] (overwritten) for upstream gradient dy [batch, time, dim].</summary>
    public static void Backward(ReadOnlySpan<double> qkv, ReadOnlySpan<double> dy, Span<double> dQkv, int batch, int time, int heads, int dim,
        float dropout = 0, ulong seed = 0)
    {
        const string op = "CausalAttentionReference.Backward";
        CausalAttention.Validate(op, qkv.Length, batch, time, heads, dim, dropout);
        Check.Length(op, "dy", dy.Length, batch, time, dim);
        Check.Length(op, "dQkv", dQkv.Length, batch, time, 3 * dim);
        int size = dim / heads;
        double scale = 1 / Math.Sqrt(size);
        for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
        {
            var (p, kept, _) = Weights(qkv, b, h, time, heads, dim, dropout, seed);
            // y_i = Σ_j P_ij kept_ij v_j: dv_j = Σ_i P_ij kept_ij dy_i, and dL/dP_ij = kept_ij (dy_i · v_j).
            var dP = new double[time, time];
            for (int i = 0; i < time; i++)
            for (int j = 0; j <= i; j++)
            {
                double dot = 0;
                for (int c = 0; c < size; c++) dot += dy[(b * time + i) * dim + h * size + c] * V(qkv, b, j, h, c, time, dim, size);
                dP[i, j] = kept[i, j] * dot;
            }
            // Softmax: dS_ij = P_ij (dP_ij - Σ_k P_ik dP_ik); S_ij = q_i · k_j · scale.
            var dS = new double[time, time];
            for (int i = 0; i < time; i++)
            {
                double inner = 0;
                for (int k = 0; k <= i; k++) inner += p[i, k] * dP[i, k];
                for (int j = 0; j <= i; j++) dS[i, j] = p[i, j] * (dP[i, j] - inner);
            }
            for (int t = 0; t < time; t++)
            for (int c = 0; c < size; c++)
            {
                double dq = 0, dk = 0, dv = 0;
                for (int j = 0; j <= t; j++) dq += dS[t, j] * K(qkv, b, j, h, c, time, dim, size) * scale;
                for (int i = t; i < time; i++)
                {
                    dk += dS[i, t] * Q(qkv, b, i, h, c, time, dim, size) * scale;
                    dv += p[i, t] * kept[i, t] * dy[(b * time + i) * dim + h * size + c];
                }
                int row = (b * time + t) * 3 * dim + h * size + c;
                dQkv[row] = dq;
                dQkv[row + dim] = dk;
                dQkv[row + 2 * dim] = dv;
            }
        }
    }

    /// <summary>
    /// For one (batch, head): P [time, time] (row i a softmax over keys j &lt;= i, zero above the
    /// diagonal), kept [time, time] = M_ij / (1 - p) (1 without dropout), and L_i = log Σ_j exp(S_ij).
    /// </summary>
    static (double[,] P, double[,] Kept, double[] Lse) Weights(ReadOnlySpan<double> qkv, int b, int h, int time, int heads, int dim,
        float dropout, ulong seed)
    {
        int size = dim / heads;
        double scale = 1 / Math.Sqrt(size);
        var p = new double[time, time];
        var kept = new double[time, time];
        var lse = new double[time];
        for (int i = 0; i < time; i++)
        {
            var s = new double[i + 1];
            double max = double.NegativeInfinity;
            for (int j = 0; j <= i; j++)
            {
                double dot = 0;
                for (int c = 0; c < size; c++) dot += Q(qkv, b, i, h, c, time, dim, size) * K(qkv, b, j, h, c, time, dim, size);
                s[j] = dot * scale;
                max = Math.Max(max, s[j]);
            }
            double sum = 0;
            for (int j = 0; j <= i; j++) sum += Math.Exp(s[j] - max);
            lse[i] = max + Math.Log(sum);
            for (int j = 0; j <= i; j++)
            {
                p[i, j] = Math.Exp(s[j] - max) / sum;
                bool keep = dropout == 0 || Dropout.Keeps(seed, CausalAttention.MaskIndex(b, h, i, j, heads, time), dropout);
                kept[i, j] = keep ? 1 / (1 - (double)dropout) : 0;
            }
        }
        return (p, kept, lse);
    }

    static double Q(ReadOnlySpan<double> qkv, int b, int t, int h, int c, int time, int dim, int size) => qkv[(b * time + t) * 3 * dim + h * size + c];
    static double K(ReadOnlySpan<double> qkv, int b, int t, int h, int c, int time, int dim, int size) => qkv[(b * time + t) * 3 * dim + dim + h * size + c];
    static double V(ReadOnlySpan<double> qkv, int b, int t, int h, int c, int time, int dim, int size) => qkv[(b * time + t) * 3 * dim + 2 * dim + h * size + c];
}
