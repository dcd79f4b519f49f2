namespace MinRnn.Layers;

/// <summary>
/// The plain double-precision oracle for <see cref="ClassicRnn"/>: the same equations written out one stream,
/// one step and one channel at a time, with backpropagation through time over a recomputed forward.
/// Layouts: xp [B, T, G·H] (input pre-activations), W_hh [G·H, H], b_hh [G·H], h [B, T, H]; h_0 = c_0 = 0.
/// </summary>
internal static class ClassicRnnReference
{
    /// <summary>h from the input pre-activations.</summary>
    public static void Forward(RecurrentCell cell, ReadOnlySpan<double> xp, ReadOnlySpan<double> wHh, ReadOnlySpan<double> bHh,
        Span<double> h, int batch, int time, int hidden)
    {
        var run = Run(cell, xp, wHh, bHh, batch, time, hidden);
        for (int b = 0; b < batch; b++)
        for (int t = 0; t < time; t++)
            run.H[b][t + 1].CopyTo(h.Slice((b * time + t) * hidden, hidden));
    }

    /// <summary>dxp (written), dW_hh and db_hh (accumulated) from dL/dh.</summary>
    public static void Backward(RecurrentCell cell, ReadOnlySpan<double> xp, ReadOnlySpan<double> wHh, ReadOnlySpan<double> bHh,
        ReadOnlySpan<double> dh, Span<double> dxp, Span<double> dWHh, Span<double> dBHh, int batch, int time, int hidden)
    {
        int g = cell.Gates(), n = g * hidden;
        var run = Run(cell, xp, wHh, bHh, batch, time, hidden);
        for (int b = 0; b < batch; b++)
        {
            var dNext = new double[hidden];
            var dCell = new double[hidden];
            for (int t = time - 1; t >= 0; t--)
            {
                double[] hPrev = run.H[b][t], hp = run.Hp[b][t], a = run.Gates[b][t];
                var dPre = new double[n];   // gradient of the recurrent pre-activations
                var dx = dxp.Slice((b * time + t) * n, n);
                var dPrev = new double[hidden];
                for (int j = 0; j < hidden; j++)
                {
                    double d = dh[(b * time + t) * hidden + j] + dNext[j];
                    if (cell == RecurrentCell.Gru)
                    {
                        double r = a[j], z = a[hidden + j], c = a[2 * hidden + j];
                        double dnPre = d * (1 - z) * (1 - c * c);
                        double dzPre = d * (hPrev[j] - c) * z * (1 - z);
                        double drPre = dnPre * hp[2 * hidden + j] * r * (1 - r);
                        dx[j] = drPre; dx[hidden + j] = dzPre; dx[2 * hidden + j] = dnPre;
                        dPre[j] = drPre; dPre[hidden + j] = dzPre; dPre[2 * hidden + j] = dnPre * r;
                        dPrev[j] = d * z;
                    }
                    else
                    {
                        double i = a[j], f = a[hidden + j], gg = a[2 * hidden + j], o = a[3 * hidden + j];
                        double c = run.C[b][t + 1][j], cPrev = run.C[b][t][j], tau = Math.Tanh(c);
                        double dc = dCell[j] + d * o * (1 - tau * tau);
                        double[] grads = [dc * gg * i * (1 - i), dc * cPrev * f * (1 - f), dc * i * (1 - gg * gg), d * tau * o * (1 - o)];
                        for (int q = 0; q < 4; q++) dx[q * hidden + j] = dPre[q * hidden + j] = grads[q];
                        dCell[j] = dc * f;
                    }
                }
                for (int o = 0; o < n; o++)
                {
                    dBHh[o] += dPre[o];
                    for (int j = 0; j < hidden; j++)
                    {
                        dWHh[o * hidden + j] += dPre[o] * hPrev[j];
                        dPrev[j] += dPre[o] * wHh[o * hidden + j];
                    }
                }
                dNext = dPrev;
            }
        }
    }

    /// <summary>Per stream and step: h_t (index t + 1, h_0 = 0), c_t likewise, the recurrent pre-activations and the gate activations.</summary>
    sealed record Trace(double[][][] H, double[][][] C, double[][][] Hp, double[][][] Gates);

    static Trace Run(RecurrentCell cell, ReadOnlySpan<double> xp, ReadOnlySpan<double> wHh, ReadOnlySpan<double> bHh, int batch, int time, int hidden)
    {
        if (cell is not (RecurrentCell.Gru or RecurrentCell.Lstm)) throw new ArgumentException("ClassicRnnReference: GRU or LSTM only.");
        int g = cell.Gates(), n = g * hidden;
        var trace = new Trace(new double[batch][][], new double[batch][][], new double[batch][][], new double[batch][][]);
        for (int b = 0; b < batch; b++)
        {
            trace.H[b] = new double[time + 1][]; trace.C[b] = new double[time + 1][];
            trace.Hp[b] = new double[time][]; trace.Gates[b] = new double[time][];
            trace.H[b][0] = new double[hidden]; trace.C[b][0] = new double[hidden];
            for (int t = 0; t < time; t++)
            {
                double[] hPrev = trace.H[b][t], hp = new double[n], a = new double[n], h = new double[hidden], c = new double[hidden];
                for (int o = 0; o < n; o++)
                {
                    double sum = bHh[o];
                    for (int j = 0; j < hidden; j++) sum += wHh[o * hidden + j] * hPrev[j];
                    hp[o] = sum;
                }
                var x = xp.Slice((b * time + t) * n, n);
                for (int j = 0; j < hidden; j++)
                {
                    if (cell == RecurrentCell.Gru)
                    {
                        double r = Sigmoid(x[j] + hp[j]), z = Sigmoid(x[hidden + j] + hp[hidden + j]);
                        double candidate = Math.Tanh(x[2 * hidden + j] + r * hp[2 * hidden + j]);
                        a[j] = r; a[hidden + j] = z; a[2 * hidden + j] = candidate;
                        h[j] = (1 - z) * candidate + z * hPrev[j];
                    }
                    else
                    {
                        double i = Sigmoid(x[j] + hp[j]), f = Sigmoid(x[hidden + j] + hp[hidden + j]);
                        double gg = Math.Tanh(x[2 * hidden + j] + hp[2 * hidden + j]), o = Sigmoid(x[3 * hidden + j] + hp[3 * hidden + j]);
                        a[j] = i; a[hidden + j] = f; a[2 * hidden + j] = gg; a[3 * hidden + j] = o;
                        c[j] = f * trace.C[b][t][j] + i * gg;
                        h[j] = o * Math.Tanh(c[j]);
                    }
                }
                trace.H[b][t + 1] = h; trace.C[b][t + 1] = c; trace.Hp[b][t] = hp; trace.Gates[b][t] = a;
            }
        }
        return trace;
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
