namespace MinRnn.Layers;

/// <summary>
/// The plain double-precision oracle for <see cref="SelectiveScan"/>, written as mamba-minimal's selective_scan loop:
/// every state of every step is kept, and the backward is the reverse walk of the recurrence over them. B and C are
/// separate [batch, time, N] arrays, z a [batch, time, channels] one; states are [batch, N, channels] in the fast kernel's layout
/// (<see cref="SelectiveScanShape.StateIndex"/>).
/// </summary>
internal static class SelectiveScanReference
{
    /// <summary>The inputs, laid out as in <see cref="SelectiveScanInputs"/> but contiguous; <paramref name="H0"/> null for h_0 = 0.</summary>
    public sealed record Inputs(double[] X, double[] Delta, double[] ALog, double[] B, double[] C, double[] D, double[] Z, double[]? H0 = null);

    /// <summary>dL/d(each input) of <see cref="Inputs"/> (not of h_0).</summary>
    public sealed record Gradients(double[] X, double[] Delta, double[] ALog, double[] B, double[] C, double[] D, double[] Z);

    /// <summary>y [batch, time, channels] and the final state [batch, N, channels].</summary>
    public static (double[] Y, double[] State) Forward(Inputs inputs, SelectiveScanShape shape)
    {
        var y = new double[shape.Batch * shape.Time * shape.Channels];
        var final = new double[shape.StateLength];
        for (int b = 0; b < shape.Batch; b++)
        for (int c = 0; c < shape.Channels; c++)
        {
            var h = States(inputs, shape, b, c);
            for (int t = 0; t < shape.Time; t++) y[At(shape, b, t, c)] = Ungated(inputs, shape, h, b, t, c) * Silu(inputs.Z[At(shape, b, t, c)]);
            for (int n = 0; n < shape.State; n++) final[shape.StateIndex(b, n, c)] = h[shape.Time, n];
        }
        return (y, final);
    }

    /// <summary>The gradients from dL/dy, by the reverse walk of h_t = dA_t h_{t-1} + Δ_t B_t x_t.</summary>
    public static Gradients Backward(Inputs inputs, double[] dy, SelectiveScanShape shape)
    {
        int time = shape.Time, channels = shape.Channels, n = shape.State;
        var g = new Gradients(new double[inputs.X.Length], new double[inputs.Delta.Length], new double[inputs.ALog.Length],
            new double[inputs.B.Length], new double[inputs.C.Length], new double[inputs.D.Length], new double[inputs.Z.Length]);
        for (int b = 0; b < shape.Batch; b++)
        for (int c = 0; c < channels; c++)
        {
            var h = States(inputs, shape, b, c);
            var carry = new double[n]; // dA_{t+1} G_{t+1}
            for (int t = time - 1; t >= 0; t--)
            {
                int at = At(shape, b, t, c), row = b * time + t;
                double z = inputs.Z[at], x = inputs.X[at], pre = inputs.Delta[at];
                double delta = Softplus(pre), dyt = dy[at] * Silu(z);
                g.Z[at] = dy[at] * Ungated(inputs, shape, h, b, t, c) * SiluSlope(z);
                g.D[c] += dyt * x;
                double gb = 0, gDecay = 0;
                for (int s = 0; s < n; s++)
                {
                    double a = -Math.Exp(inputs.ALog[c * n + s]), decay = Math.Exp(delta * a), bs = inputs.B[row * n + s];
                    double grad = dyt * inputs.C[row * n + s] + carry[s];
                    g.C[row * n + s] += dyt * h[t + 1, s];
                    g.B[row * n + s] += grad * delta * x;
                    gb += grad * bs;
                    gDecay += grad * decay * h[t, s] * a;
                    g.ALog[c * n + s] += grad * decay * h[t, s] * delta * a;
                    carry[s] = grad * decay;
                }
                g.X[at] = delta * gb + inputs.D[c] * dyt;
                g.Delta[at] = (gDecay + x * gb) * Sigmoid(pre);
            }
        }
        return g;
    }

    /// <summary>h[t, n] for t = 0 (h_0) .. time of channel c of sequence b.</summary>
    static double[,] States(Inputs inputs, SelectiveScanShape shape, int b, int c)
    {
        int n = shape.State;
        var h = new double[shape.Time + 1, n];
        for (int s = 0; s < n; s++) h[0, s] = inputs.H0 is null ? 0 : inputs.H0[shape.StateIndex(b, s, c)];
        for (int t = 0; t < shape.Time; t++)
        {
            int at = At(shape, b, t, c), row = b * shape.Time + t;
            double delta = Softplus(inputs.Delta[at]);
            for (int s = 0; s < n; s++)
            {
                double a = -Math.Exp(inputs.ALog[c * n + s]);
                h[t + 1, s] = Math.Exp(delta * a) * h[t, s] + delta * inputs.B[row * n + s] * inputs.X[at];
            }
        }
        return h;
    }

    /// <summary>Σ_n C_t[n] h_t[n] + D x_t, before the gate.</summary>
    static double Ungated(Inputs inputs, SelectiveScanShape shape, double[,] h, int b, int t, int c)
    {
        int at = At(shape, b, t, c), row = b * shape.Time + t, n = shape.State;
        double y = inputs.D[c] * inputs.X[at];
        for (int s = 0; s < n; s++) y += inputs.C[row * n + s] * h[t + 1, s];
        return y;
    }

    static int At(SelectiveScanShape shape, int b, int t, int c) => (b * shape.Time + t) * shape.Channels + c;
    static double Softplus(double v) => v > 0 ? v + Math.Log(1 + Math.Exp(-v)) : Math.Log(1 + Math.Exp(v));
    static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
    static double Silu(double v) => SiluReference.Value(v);
    static double SiluSlope(double v) => SiluReference.Slope(v);
}
