using System.Globalization;
using MinRnn.Layers;

namespace MinRnn.Cli.Bench;

/// <summary>
/// One minRNN layer in training, as the models run it: forward y = x·Wᵀ + b then the scan; backward
/// the scan's gradient then the linear's (dx, dW, db). Measured whole and by part — the linear map
/// (three GEMMs and the bias) and the fused gate + scan — for both scan algorithms.
/// </summary>
internal sealed class LayerBench
{
    readonly RecurrentCell cell;
    readonly int batch, time, width, gates;
    readonly float[] x, weight, bias, pre, h, dh, dPre, dx, dWeight, dBias;

    LayerBench(RecurrentCell cell, int batch, int time, int width)
    {
        (this.cell, this.batch, this.time, this.width, gates) = (cell, batch, time, width, cell.Gates());
        int rows = batch * time, g = gates * width;
        x = Random(rows * width, 1, 1f);
        weight = Random(g * width, 2, 1f / MathF.Sqrt(width));
        bias = Random(g, 3, 0.1f);
        dh = Random(rows * width, 4, 1e-3f);
        pre = new float[rows * g]; h = new float[rows * width]; dPre = new float[rows * g];
        dx = new float[rows * width]; dWeight = new float[g * width]; dBias = new float[g];
    }

    /// <summary>The rows for one cell at batch x time rows of width D = H.</summary>
    public static IEnumerable<BenchRow> Rows(BenchRunner runner, RecurrentCell cell, int batch, int time, int width)
    {
        var bench = new LayerBench(cell, batch, time, width);
        string group = $"{cell.DisplayName()} layer", shape = $"B={batch} T={time} D=H={width}";
        double gflop = 3 * 2.0 * batch * time * width * (bench.gates * width) / 1e9;
        bench.ScanForward(ScanAlgorithm.Sequential); // h for the linear's backward
        yield return runner.Measure(group, "linear fwd+bwd (3 GEMMs + bias)", shape, gflop, bench.Linear);
        foreach (var algorithm in new[] { ScanAlgorithm.Sequential, ScanAlgorithm.LogSpace })
        {
            string name = algorithm == ScanAlgorithm.Sequential ? "sequential" : "log-space";
            var layer = runner.Measure(group, $"layer fwd+bwd, {name} scan", shape, gflop, () => { bench.Linear(); bench.Scan(algorithm); });
            var scan = runner.Measure(group, "", shape, null, () => bench.Scan(algorithm));
            double share = 100 * scan.AllThreads.Milliseconds!.Value / layer.AllThreads.Milliseconds!.Value;
            yield return layer;
            yield return scan with { Name = $"  gate+scan fwd+bwd, {name}: {share.ToString("F0", CultureInfo.InvariantCulture)}% of layer" };
        }
    }

    void Linear()
    {
        int rows = batch * time, g = gates * width;
        Layers.Linear.Forward(x, weight, bias, pre, rows, width, g);
        Layers.Linear.Backward(x, weight, dPre, dx, dWeight, dBias, rows, width, g);
    }

    void Scan(ScanAlgorithm algorithm)
    {
        ScanForward(algorithm);
        MinRnnScan.Backward(cell, pre, default, h, dh, dPre, default, batch, time, width);
    }

    void ScanForward(ScanAlgorithm algorithm) => MinRnnScan.Forward(cell, algorithm, pre, default, h, batch, time, width);

    static float[] Random(int length, int seed, float scale)
    {
        var random = new Random(seed);
        var v = new float[length];
        for (int i = 0; i < v.Length; i++) v[i] = (random.NextSingle() * 2 - 1) * scale;
        return v;
    }
}
