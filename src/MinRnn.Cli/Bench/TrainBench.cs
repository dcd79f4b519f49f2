using MinRnn.Data;
using MinRnn.Distributed;
using MinRnn.Kernels;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Bench;

/// <summary>
/// Training throughput of the presets, as <c>minrnn train</c> runs them (batch, context, dropout and
/// all), on a synthetic corpus with Tiny Shakespeare's vocabulary size: characters per second, the
/// step time, and model FLOP utilisation against the measured FMA peak of the same threads.
/// </summary>
internal static class TrainBench
{
    /// <summary>
    /// One measured configuration; with a breakdown, each kernel's time per step over further steps timed with
    /// <see cref="OperationProfile"/> on, and those steps' median time.
    /// </summary>
    public sealed record Result(string Preset, string Cell, long Parameters, double StepMilliseconds, double TokensPerSecond,
        double Gflops, double PercentOfPeak, long PeakBytes, KernelBreakdown? Breakdown = null);

    const int Vocabulary = 65;

    /// <summary>
    /// Measures every preset with each of <paramref name="cells"/> that its architecture takes (the classic
    /// GRU and LSTM only with the plain architecture); with a <paramref name="group"/> of several ranks, each step trains
    /// the same global batch across them.
    /// </summary>
    public static IEnumerable<Result> Run(IEnumerable<Preset> presets, IEnumerable<RecurrentCell> cells, int threads, int steps, double peakGflops,
        bool breakdown = false, ProcessGroup? group = null)
    {
        Parallelism.Threads = threads;
        var corpus = new CorpusSource(SyntheticCorpus());
        foreach (var preset in presets)
        foreach (var cell in preset.Model.Architecture is Architecture.Transformer or Architecture.Mamba ? [preset.Model.Cell]
                     : cells.Where(c => c.IsMinimal() || preset.Model.Architecture == Architecture.Plain))
        {
            var model = LanguageModel.Create(preset.Model with { Cell = cell, VocabularySize = Vocabulary });
            model.Initialize(1);
            var options = preset.Training with { Steps = 2 * steps + 2 };
            var trainer = new Trainer(model, corpus, options, group);
            double step = BenchTimer.MedianSeconds(() => trainer.TrainStep(), steps, warmup: 2); // the first two steps allocate and compile
            var profile = breakdown ? KernelBreakdown.Measure(steps, () => trainer.TrainStep()) : null;
            long tokens = (long)options.Batch * options.Context;
            double gflops = (model.TrainingFlopsPerToken + model.MixerFlopsPerToken(options.Context)) * (double)tokens / step / 1e9;
            string name = preset.Model.Architecture switch
            {
                Architecture.Transformer => "attention",
                Architecture.Mamba => "selective scan",
                _ => cell.DisplayName(),
            };
            yield return new Result(preset.Name, name, model.ParameterCount, step * 1e3, tokens / step, gflops,
                100 * gflops / peakGflops, Trainer.EstimateBytes(model, corpus, options), profile);
        }
    }

    /// <summary>A million random characters over 65 symbols: throughput does not depend on the text.</summary>
    static CharCorpus SyntheticCorpus()
    {
        var random = new Random(7);
        var chars = new char[1_000_000];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)(' ' + random.Next(Vocabulary));
        return CharCorpus.FromText(new string(chars), "synthetic");
    }
}
