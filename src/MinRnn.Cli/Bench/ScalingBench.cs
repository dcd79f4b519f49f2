using System.Diagnostics;
using MinRnn.Kernels;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Cli.Bench;

/// <summary>
/// The paper's Figure 1 on this CPU: the time of one training step (forward, cross-entropy, backward) and
/// the memory it holds, for each cell at the same width and depth (plain architecture) and batch, over
/// growing sequence lengths. Every point is measured, none extrapolated: warm-up steps for half a second
/// (at least one, at most five), then timed steps for two seconds (at least one, at most ten), and the
/// median is reported; long steps are therefore measured on fewer steps.
/// </summary>
internal static class ScalingBench
{
    /// <summary>One measured point.</summary>
    public sealed record Point(RecurrentCell Cell, int Length, double StepMilliseconds, int TimedSteps, double Gflops, long Bytes);

    const int Vocabulary = 65;

    /// <summary>The model of one point.</summary>
    public static ModelConfig Config(RecurrentCell cell, int dim, int layers) => new(Architecture.Plain, cell, Vocabulary, dim, layers);

    public static IEnumerable<Point> Run(IReadOnlyList<RecurrentCell> cells, IReadOnlyList<int> lengths, int dim, int layers, int batch)
    {
        foreach (int length in lengths)
        foreach (var cell in cells)
        {
            GC.Collect();
            long before = GC.GetTotalMemory(forceFullCollection: true);
            var model = LanguageModel.Create(Config(cell, dim, layers));
            model.Initialize(1);
            var random = new Random(length);
            int rows = batch * length;
            var input = Enumerable.Range(0, rows).Select(_ => random.Next(Vocabulary)).ToArray();
            var target = Enumerable.Range(0, rows).Select(_ => random.Next(Vocabulary)).ToArray();
            var dLogits = new float[rows * Vocabulary];
            void Step()
            {
                var logits = model.Forward(input, batch, length, train: true);
                SoftmaxCrossEntropy.ForwardBackward(logits, target, dLogits, rows, Vocabulary);
                model.Backward(dLogits);
            }
            long warmStart = Stopwatch.GetTimestamp();
            for (int i = 0; i < 5 && (i == 0 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 0.5); i++) Step();
            long held = GC.GetTotalMemory(forceFullCollection: false) - before;
            var seconds = new List<double>();
            long start = Stopwatch.GetTimestamp();
            while (seconds.Count < 10 && (seconds.Count == 0 || Stopwatch.GetElapsedTime(start).TotalSeconds < 2))
            {
                long stepStart = Stopwatch.GetTimestamp();
                Step();
                seconds.Add(Stopwatch.GetElapsedTime(stepStart).TotalSeconds);
            }
            double median = BenchTimer.Median([.. seconds]);
            yield return new Point(cell, length, median * 1e3, seconds.Count, model.TrainingFlopsPerToken * (double)rows / median / 1e9, held);
        }
    }
}
