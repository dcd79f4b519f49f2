using System.Globalization;
using MinRnn.Kernels;

namespace MinRnn.Cli.Bench;

/// <summary>
/// The read bandwidth the one-stream generation targets run into: one character of a model reads all its weights, so
/// characters/s can be at most the bandwidth at which the machine re-reads a working set of that size divided by it.
/// Each row reads 1 GB as passes over a buffer of the preset's weight size (its parameter count over Tiny Shakespeare's
/// characters × 4 bytes), every thread its own fixed part of the buffer each pass, as a product split between threads
/// reads its panels; the time in ms is then ms per GB, and GB/s = 1,000 / ms.
/// </summary>
internal static class MemoryBench
{
    const long BytesPerRun = 1_000_000_000;
    const int Block = 4096; // floats per item: 16 kB

    public static IEnumerable<BenchRow> Rows(BenchRunner runner)
    {
        foreach (var preset in new[] { Preset.GptCpu, Preset.Mamba })
        {
            long parameters = (preset.Model with { VocabularySize = GenerationBench.ShakespeareCharacters.Length }).ParameterCount();
            int blocks = (int)((parameters + Block - 1) / Block);
            var buffer = new float[(long)blocks * Block];
            buffer.AsSpan().Fill(1e-3f);
            int passes = (int)(BytesPerRun / ((long)buffer.Length * sizeof(float)));
            double megabytes = buffer.Length * (double)sizeof(float) / 1e6;
            yield return runner.Measure("memory", $"read the {preset.Name} preset's weights",
                string.Create(CultureInfo.InvariantCulture, $"{megabytes:F1} MB, {passes:N0} passes (1 GB): GB/s = 1,000 / ms"), null, () => Read(buffer, blocks, passes));
        }
    }

    static unsafe void Read(float[] buffer, int blocks, int passes)
    {
        fixed (float* data = buffer) VectorJob.For(blocks, (long)passes * Block, new ReadJob(data, passes));
    }

    /// <summary>Sums the items' blocks, <paramref name="passes"/> times over, four vectors at a time.</summary>
    readonly unsafe struct ReadJob(float* data, int passes) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            int w = TOps.Count;
            float* first = data + (long)start * Block, last = data + (long)end * Block;
            for (int pass = 0; pass < passes; pass++)
                for (float* p = first; p < last; p += 4 * w)
                {
                    a0 = TOps.Add(a0, TOps.Load(p)); a1 = TOps.Add(a1, TOps.Load(p + w));
                    a2 = TOps.Add(a2, TOps.Load(p + 2 * w)); a3 = TOps.Add(a3, TOps.Load(p + 3 * w));
                }
            // Keep the sums observable so that the loop cannot be removed.
            if (!float.IsFinite(TOps.Sum(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3))))) throw new InvalidOperationException("MemoryBench: the sums overflowed.");
        }
    }
}
