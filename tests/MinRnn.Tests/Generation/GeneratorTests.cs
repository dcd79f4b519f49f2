using MinRnn.Data;
using MinRnn.Generation;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Tests.Generation;

public class GeneratorTests
{
    internal static readonly Vocabulary Vocabulary = Vocabulary.FromText("abcdefgh ij.\n");

    internal static LanguageModel Model(Architecture architecture, RecurrentCell cell)
    {
        var model = LanguageModel.Create(new ModelConfig(architecture, cell, Vocabulary.Count, 16, 2, 1.5, 3, 2, State: architecture == Architecture.Mamba ? 4 : 0));
        model.Initialize(8);
        // Mamba's N(0, 0.02) embedding, also its head, gives logits so close together that greedy choices would hang on rounding.
        if (architecture == Architecture.Mamba) MinRnn.Kernels.CounterRandom.FillUniform(model.Parameters[0].Value, 9, -1f, 1f);
        return model;
    }

    /// <summary>Greedy generation with the carried state equals re-reading the whole text at every step.</summary>
    [Theory]
    [InlineData(Architecture.Plain, RecurrentCell.MinGru)]
    [InlineData(Architecture.Plain, RecurrentCell.MinLstm)]
    [InlineData(Architecture.Residual, RecurrentCell.MinGru)]
    [InlineData(Architecture.Residual, RecurrentCell.MinLstm)]
    [InlineData(Architecture.Plain, RecurrentCell.Gru)]
    [InlineData(Architecture.Plain, RecurrentCell.Lstm)]
    [InlineData(Architecture.Mamba, RecurrentCell.MinGru)]
    public void GreedyStepsEqualFullForwardsOverTheGrowingText(Architecture architecture, RecurrentCell cell)
    {
        var model = Model(architecture, cell);
        string prompt = "abc h.";
        string generated = string.Concat(new Generator(model, Vocabulary, new SamplingOptions { Temperature = 0, Seed = 1 }).Generate(prompt, 25));

        string text = prompt;
        for (int i = 0; i < 25; i++)
        {
            var tokens = Vocabulary.Encode(text);
            var logits = model.Forward(tokens, 1, tokens.Length);
            var last = logits.Slice((tokens.Length - 1) * Vocabulary.Count, Vocabulary.Count);
            int best = 0;
            for (int j = 1; j < last.Length; j++) if (last[j] > last[best]) best = j;
            text += Vocabulary[best].ToString();
        }
        Assert.Equal(text[prompt.Length..], generated);
    }

    /// <summary>
    /// One stream's products split between two threads (wide enough models: every product has 16 k multiplies or more)
    /// give the text of one thread, products kept whole.
    /// </summary>
    [Theory]
    [InlineData(Architecture.Plain, RecurrentCell.MinGru)]
    [InlineData(Architecture.Residual, RecurrentCell.MinLstm)]
    [InlineData(Architecture.Plain, RecurrentCell.Gru)]
    [InlineData(Architecture.Transformer, RecurrentCell.MinGru)]
    [InlineData(Architecture.Mamba, RecurrentCell.MinGru)]
    public void TheTextDoesNotDependOnSplittingOneStreamBetweenThreads(Architecture architecture, RecurrentCell cell)
    {
        var config = new ModelConfig(architecture, cell, Vocabulary.Count, 128, 2, 2, 4, 2,
            Heads: architecture == Architecture.Transformer ? 4 : 0, BlockSize: architecture == Architecture.Transformer ? 64 : 0,
            State: architecture == Architecture.Mamba ? 16 : 0);
        var model = LanguageModel.Create(config);
        model.Initialize(3);
        string Text(bool oneRowOnTeam) =>
            string.Concat(new Generator(model, Vocabulary, new SamplingOptions { Seed = 4 }, oneRowOnTeam: oneRowOnTeam).Generate("abc", 100));
        string whole = ThreadCount.One(() => Text(false));
        var (one, split) = ThreadCount.OneThenTwo(() => Text(true));
        Assert.Equal(whole, one);
        Assert.Equal(whole, split);
    }

    [Fact]
    public void SameSeedSameTextAndStreamsDiffer()
    {
        var model = Model(Architecture.Residual, RecurrentCell.MinGru);
        var options = new SamplingOptions { Temperature = 1.0 };
        string a = string.Concat(new Generator(model, Vocabulary, options with { Seed = 5 }).Generate("ab", 200));
        string b = string.Concat(new Generator(model, Vocabulary, options with { Seed = 5 }).Generate("ab", 200));
        string c = string.Concat(new Generator(model, Vocabulary, options with { Seed = 6 }).Generate("ab", 200));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void PromptCharactersOutsideTheVocabularyAreNamed()
    {
        var generator = new Generator(Model(Architecture.Plain, RecurrentCell.MinGru), Vocabulary, new SamplingOptions { Seed = 1 });
        var e = Assert.Throws<ArgumentException>(() => generator.Prefill("abz!"));
        Assert.Contains("z", e.Message);
        Assert.Contains("!", e.Message);
        Assert.Throws<ArgumentException>(() => generator.Prefill(""));
    }
}
