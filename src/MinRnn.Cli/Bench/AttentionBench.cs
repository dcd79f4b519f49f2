using MinRnn.Layers;

namespace MinRnn.Cli.Bench;

/// <summary>
/// The transformer's fused causal attention in training: forward then backward over q|k|v [batch, time, 3D], as the
/// gpt preset runs it. FLOPs are the useful causal products: forward 4·B·heads·(T²/2)·hs (q·kᵀ and P·V), backward twice that.
/// </summary>
internal static class AttentionBench
{
    public static BenchRow Row(BenchRunner runner, int batch, int time, int heads, int width)
    {
        int rows = batch * time;
        var random = new Random(5);
        float[] Random(int length, float scale) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        var qkv = Random(rows * 3 * width, 1f);
        var dy = Random(rows * width, 1e-2f);
        var y = new float[rows * width];
        var logSumExp = new float[rows * heads];
        var dQkv = new float[rows * 3 * width];
        double gflop = 3 * 4.0 * batch * heads * (time * (double)time / 2) * (width / heads) / 1e9;
        return runner.Measure("attention", "causal attention fwd+bwd (fused)", $"B={batch} T={time} heads={heads} D={width}", gflop, () =>
        {
            CausalAttention.Forward(qkv, y, logSumExp, batch, time, heads, width);
            CausalAttention.Backward(qkv, y, logSumExp, dy, dQkv, batch, time, heads, width);
        });
    }
}
