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
    const string ShakespeareCharacters = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// The seed preset's model (plain minGRU, 3 x 384) over Tiny Shakespeare's characters, freshly initialised: speed does
    /// not depend on the weights' values, so no training or download is needed.
    /// </summary>
    public static (LanguageModel Model, Vocabulary Vocabulary) SeedModel()
    {
        var vocabulary = Vocabulary.FromText(ShakespeareCharacters);
        var model = LanguageModel.Create(Preset.Seed.Model with { VocabularySize = vocabulary.Count });
        model.Initialize(1);
        return (model, vocabulary);
    }

    /// <summary>
    /// Median characters per second of <paramref name="streams"/> streams stepped together on the current
    /// <see cref="Kernels.Parallelism.Threads"/>: seven timed rounds after a second of warm-up (long enough for the JIT's
    /// tiered compilation to settle).
    /// </summary>
    public static double CharactersPerSecond(LanguageModel model, Vocabulary vocabulary, string prompt, int streams)
    {
        var generator = new Generator(model, vocabulary, new SamplingOptions { Seed = 1 }, streams);
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
}
