using System.Globalization;
using MinRnn.Layers;

namespace MinRnn.Cli.Bench;

/// <summary>
/// Mamba's fused selective scan in training, forward then backward, beside the minGRU gate + scan (sequential) of the
/// same width, the work it replaces in the minimal models: the selective scan does about N times the element work. FLOPs
/// are the scan's multiply-adds, 3 per channel and state forward (dA·h, Δx·B, C·h) and twice that backward; its exps and
/// the recompute of each chunk's states in the backward are not counted.
/// </summary>
internal static class SelectiveScanBench
{
    public static IEnumerable<BenchRow> Rows(BenchRunner runner, int batch, int time, int channels, int state)
    {
        var shape = new SelectiveScanShape(batch, time, channels, state);
        int rows = shape.Rows, n = state;
        var random = new Random(11);
        float[] Random(int length, float low, float high) => Enumerable.Range(0, length).Select(_ => low + (high - low) * random.NextSingle()).ToArray();

        var pre = Random(rows * 2 * channels, -2f, 2f);
        var h = new float[rows * channels];
        var dh = Random(rows * channels, -1e-3f, 1e-3f);
        var dPre = new float[pre.Length];
        var minGru = runner.Measure("selective scan", "minGRU gate+scan fwd+bwd (sequential)", $"B={batch} T={time} H={channels}", null, () =>
        {
            MinRnnScan.Forward(RecurrentCell.MinGru, ScanAlgorithm.Sequential, pre, default, h, batch, time, channels);
            MinRnnScan.Backward(RecurrentCell.MinGru, pre, default, h, dh, dPre, default, batch, time, channels);
        });
        yield return minGru;

        // Mamba's ranges at initialisation: Δ = softplus(dt) in [1e-3, 0.1] or so, A = -(1..N).
        var x = Random(rows * channels, -1f, 1f);
        var delta = Random(rows * channels, -6f, -2f);
        var aLog = Enumerable.Range(0, channels * n).Select(i => MathF.Log(1 + i % n)).ToArray();
        var rates = new float[n * channels];
        var bc = Random(rows * 2 * n, -1f, 1f);
        var d = Random(channels, 0.5f, 1.5f);
        var z = Random(rows * channels, -2f, 2f);
        var y = new float[rows * channels];
        var chunkStates = new float[shape.ChunkStatesLength];
        var dy = Random(rows * channels, -1e-3f, 1e-3f);
        float[] dx = new float[x.Length], dDelta = new float[x.Length], dALog = new float[aLog.Length], dBC = new float[bc.Length],
            dD = new float[channels], dz = new float[z.Length];
        double gflop = 3 * 2.0 * 3 * rows * (double)channels * n / 1e9;
        var scan = runner.Measure("selective scan", "", $"B={batch} T={time} d_inner={channels} N={n}", gflop, () =>
        {
            SelectiveScan.Rates(aLog, rates, channels, n);
            var inputs = new SelectiveScanInputs(x, delta, rates, bc, 2 * n, d, z, channels);
            SelectiveScan.Forward(inputs, shape, y, chunkStates, default);
            SelectiveScan.Backward(inputs, shape, chunkStates, dy, new SelectiveScanGradients(dx, dDelta, dALog, dBC, dD, dz));
        });
        double ratio = scan.AllThreads.Milliseconds!.Value / minGru.AllThreads.Milliseconds!.Value;
        yield return scan with { Name = $"selective scan fwd+bwd (fused): {ratio.ToString("F1", CultureInfo.InvariantCulture)}x minGRU gate+scan" };
    }
}
