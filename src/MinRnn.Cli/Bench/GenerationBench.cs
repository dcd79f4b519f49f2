using System.Diagnostics;
using MinRnn.Data;
using MinRnn.Generation;
using MinRnn.Model;

namespace MinRnn.Cli.Bench;

/// <summary>
/// Generation speed in process, with nothing between the model and the text: <c>minrnn bench generate</c> reports it,
/// and <c>minrnn bench serve</c> compares the server with it. Also the model both measure when given no checkpoint.
/// </summary>
internal static class GenerationBench
{
    /// <summary>The 65 characters of Tiny Shakespeare, in the vocabulary's order.</summary>
    internal const string ShakespeareCharacters = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// The seed preset's model (plain minGRU, 3 x 384) over Tiny Shakespeare's characters, freshly initialised: speed does
    /// not depend on the weights' values, so no training or download is needed.
    /// </summary>
    public static (LanguageModel Model, Vocabulary Vocabulary) SeedModel() => FreshModel(Preset.Seed.Model);

    /// <summary>A freshly initialised model of <paramref name="config"/> over Tiny Shakespeare's characters.</summary>
    public static (LanguageModel Model, Vocabulary Vocabulary) FreshModel(ModelConfig config)
    {
        var vocabulary = Vocabulary.FromText(ShakespeareCharacters);
        var model = LanguageModel.Create(config with { VocabularySize = vocabulary.Count });
        model.Initialize(1);
        return (model, vocabulary);
    }

    /// <summary>
    /// Median characters per second of <paramref name="streams"/> streams stepped together on the current
    /// <see cref="Kernels.Parallelism.Threads"/>: seven timed rounds after a second of warm-up (long enough for the JIT's
    /// tiered compilation to settle). <paramref name="oneRowOnTeam"/> as the <see cref="Generator"/>'s.
    /// </summary>
    public static double CharactersPerSecond(LanguageModel model, Vocabulary vocabulary, string prompt, int streams, bool oneRowOnTeam = true)
    {
        var generator = new Generator(model, vocabulary, new SamplingOptions { Seed = 1 }, streams, oneRowOnTeam);
        generator.Prefill(prompt);
        var output = new string[streams];
        long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < warmUntil) generator.Step(output);
        int steps = streams == 1 ? 5_000 : 1_000;
        double seconds = BenchTimer.MedianSeconds(() =>
        {
            for (int i = 0; i < steps; i++) generator.Step(output);
        }, repeat: 7, warmup: 0);
        return steps * streams / seconds;
    }

    /// <summary>
    /// One stream's median characters per second on the current threads while its context holds the last
    /// <paramref name="context"/> / 2 to <paramref name="context"/> characters (a transformer whose block is
    /// <paramref name="context"/> never slides): a seeded random text of <paramref name="context"/> - R characters is read
    /// first, R = min(<paramref name="context"/> / 2, 256), then rounds of R characters each start again from the state that
    /// reading left: a second of them warms up (the JIT's tiers settle), then rounds are timed for a second (at least seven;
    /// a round of 32 characters lasts a millisecond or two, and seven of them alone would sample a few scheduler ticks of
    /// a noisy machine) and the median round counts. Also the bytes of that state, per
    /// stream: the recurrent models' constant state, or the transformer's key/value cache (allocated for its whole block).
    /// With <paramref name="breakdown"/>, one more round with every kernel timed.
    /// </summary>
    public static (double CharactersPerSecond, long StateBytes, KernelBreakdown? Breakdown) AtContext(LanguageModel model, Vocabulary vocabulary,
        int context, bool breakdown = false)
    {
        if (context < 2) throw new ArgumentException($"the context must be at least 2 characters, got {context}.");
        int round = Math.Min(context / 2, 256);
        var random = new SplitMix64(7);
        var prompt = string.Concat(Enumerable.Range(0, context - round).Select(_ => vocabulary[random.NextInt(vocabulary.Count)]));
        var generator = new Generator(model, vocabulary, new SamplingOptions { Seed = 1 });
        generator.Prefill(prompt);
        var read = new RecurrentState(model.Config, 1);
        read.CopyStream(0, generator.State);
        var output = new string[1];
        double Round()
        {
            generator.State.CopyStream(0, read);
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < round; i++) generator.Step(output);
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < warmUntil) Round();
        var rounds = new List<double>();
        long timeUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (rounds.Count < 7 || Stopwatch.GetTimestamp() < timeUntil) rounds.Add(Round());
        double median = BenchTimer.Median([.. rounds]);
        KernelBreakdown? profile = null;
        if (breakdown)
        {
            generator.State.CopyStream(0, read);
            profile = KernelBreakdown.Measure(round, () => generator.Step(output));
        }
        return (round / median, read.Floats * sizeof(float), profile);
    }
}
