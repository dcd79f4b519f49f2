namespace MinRnn.Layers;

/// <summary>
/// The plain double-precision oracle for <see cref="MinRnnScan"/>, written from the definitions of
/// spec §1 (f' = f / (f + i), i' = i / (f + i) for minLSTM) rather than from the fused forms.
/// Layouts are those of <see cref="MinRnnScan"/>; h0 may be null (zero).
/// </summary>
internal static class MinRnnScanReference
{
    /// <summary>Spec §2 literally: a*_t = sum log a_s, h_t = exp(a*_t + logcumsumexp(log b_s - a*_s)), log b_0 = log h0.</summary>
    public static double[] ForwardLogSpace(RecurrentCell cell, double[] pre, double[]? h0, int batch, int time, int hidden)
    {
        var h = new double[batch * time * hidden];
        for (int b = 0; b < batch; b++)
        for (int c = 0; c < hidden; c++)
        {
            double aStar = 0, lse = h0 is null ? double.NegativeInfinity : Math.Log(h0[b * hidden + c]);
            for (int t = 0; t < time; t++)
            {
                var (logA, logB) = LogCoefficients(cell, pre, b, t, c, time, hidden);
                aStar += logA;
                lse = LogAddExp(lse, logB - aStar);
                h[(b * time + t) * hidden + c] = Math.Exp(aStar + lse);
            }
        }
        return h;
    }

    /// <summary>The naive per-step loop h_t = a_t h_{t-1} + b_t in linear space.</summary>
    public static double[] ForwardSequential(RecurrentCell cell, double[] pre, double[]? h0, int batch, int time, int hidden)
    {
        var h = new double[batch * time * hidden];
        for (int b = 0; b < batch; b++)
        for (int c = 0; c < hidden; c++)
        {
            double state = h0 is null ? 0 : h0[b * hidden + c];
            for (int t = 0; t < time; t++)
            {
                var (a, z, _, _) = Gate(cell, pre, b, t, c, time, hidden);
                state = a * state + z * G(U(cell, pre, b, t, c, time, hidden));
                h[(b * time + t) * hidden + c] = state;
            }
        }
        return h;
    }

    /// <summary>Gradients (dL/dpre, dL/dh0) of the sequential forward for upstream gradient dh, by the chain rule.</summary>
    public static (double[] DPre, double[] DH0) Backward(RecurrentCell cell, double[] pre, double[]? h0, double[] dh, int batch, int time, int hidden)
    {
        int gates = cell.Gates();
        var h = ForwardSequential(cell, pre, h0, batch, time, hidden);
        var dPre = new double[pre.Length];
        var dh0 = new double[batch * hidden];
        for (int b = 0; b < batch; b++)
        for (int c = 0; c < hidden; c++)
        {
            double carry = 0;
            for (int t = time - 1; t >= 0; t--)
            {
                double grad = dh[(b * time + t) * hidden + c] + carry;
                double previous = t > 0 ? h[(b * time + t - 1) * hidden + c] : h0 is null ? 0 : h0[b * hidden + c];
                double u = U(cell, pre, b, t, c, time, hidden), g = G(u);
                var (a, z, dGate0, dGate1) = Gate(cell, pre, b, t, c, time, hidden);
                int row = (b * time + t) * gates * hidden;
                // dL/da = grad * previous, dL/dz = grad * g; the gate pre-activations move a and z through dGate*.
                double dA = grad * previous, dZ = grad * g;
                dPre[row + c] = dA * dGate0.A + dZ * dGate0.Z;
                if (cell == RecurrentCell.MinLstm) dPre[row + hidden + c] = dA * dGate1.A + dZ * dGate1.Z;
                dPre[row + (gates - 1) * hidden + c] = grad * z * GDerivative(u);
                carry = a * grad;
            }
            dh0[b * hidden + c] = carry;
        }
        return (dPre, dh0);
    }

    static double U(RecurrentCell cell, double[] pre, int b, int t, int c, int time, int hidden) =>
        pre[(b * time + t) * cell.Gates() * hidden + (cell.Gates() - 1) * hidden + c];

    /// <summary>a_t and z_t (h = a h + z g), with d(a, z)/d(first gate) and d(a, z)/d(second gate, minLSTM only).</summary>
    static (double A, double Z, (double A, double Z) D0, (double A, double Z) D1) Gate(RecurrentCell cell, double[] pre, int b, int t, int c, int time, int hidden)
    {
        int row = (b * time + t) * cell.Gates() * hidden;
        if (cell == RecurrentCell.MinGru)
        {
            // a = 1 - z, computed as sigmoid(-k) so that it keeps its precision when z rounds to 1.
            double z = Sigmoid(pre[row + c]), a = Sigmoid(-pre[row + c]), dz = z * a;
            return (a, z, (-dz, dz), (0, 0));
        }
        double f = Sigmoid(pre[row + c]), i = Sigmoid(pre[row + hidden + c]), s = f + i;
        double df = f * (1 - f), di = i * (1 - i);
        // f' = f / s, i' = i / s: d f'/df = i / s², d f'/di = -f / s², d i'/df = -i / s², d i'/di = f / s².
        return (f / s, i / s, (i / (s * s) * df, -i / (s * s) * df), (-f / (s * s) * di, f / (s * s) * di));
    }

    static (double LogA, double LogB) LogCoefficients(RecurrentCell cell, double[] pre, int b, int t, int c, int time, int hidden)
    {
        int row = (b * time + t) * cell.Gates() * hidden;
        double logA, logZ;
        if (cell == RecurrentCell.MinGru)
        {
            double k = pre[row + c];
            logZ = -Softplus(-k);
            logA = -Softplus(k);
        }
        else
        {
            double d = Softplus(-pre[row + c]) - Softplus(-pre[row + hidden + c]);
            logA = -Softplus(d);
            logZ = -Softplus(-d);
        }
        return (logA, logZ + LogG(U(cell, pre, b, t, c, time, hidden)));
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));
    static double G(double u) => u >= 0 ? u + 0.5 : Sigmoid(u);
    static double GDerivative(double u) => u >= 0 ? 1 : Sigmoid(u) * (1 - Sigmoid(u));
    static double LogG(double u) => u >= 0 ? Math.Log(u + 0.5) : -Softplus(-u);

    static double LogAddExp(double x, double y)
    {
        double max = Math.Max(x, y);
        return double.IsNegativeInfinity(max) ? max : max + Math.Log(Math.Exp(x - max) + Math.Exp(y - max));
    }
}
