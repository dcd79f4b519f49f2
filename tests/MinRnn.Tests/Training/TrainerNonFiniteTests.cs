using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

/// <summary>A step whose network, loss or gradient is not finite changes nothing: it stops the run, or is skipped and counted.</summary>
public class TrainerNonFiniteTests
{
    static readonly CharCorpus Corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 100)), "test");

    static readonly TrainingOptions Options = new() { Batch = 2, Context = 16, Steps = 4, EvalEvery = 4, Seed = 3 };

    /// <summary>A plain model whose head has a NaN weight (so every logit is NaN), and its trainer.</summary>
    static (LanguageModel Model, Trainer Trainer, float[][] Before) Poisoned(bool skip)
    {
        var model = LanguageModel.Create(new ModelConfig(Architecture.Plain, RecurrentCell.MinGru, Corpus.Vocabulary.Count, Dim: 8, Layers: 1));
        model.Initialize(Options.Seed);
        model.Parameters[^1].Value[0] = float.NaN;
        var before = model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        return (model, new Trainer(model, Corpus, Options) { SkipNonFinite = skip }, before);
    }

    [Fact]
    public void ANonFiniteStepThrowsNamingTheStepAndUpdatesNothing()
    {
        var (model, trainer, before) = Poisoned(skip: false);
        var e = Assert.Throws<NotFiniteNumberException>(() => trainer.TrainStep());
        Assert.StartsWith("step 1: ", e.Message);
        Assert.Equal(0, trainer.Step);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], model.Parameters[i].Value);
    }

    [Fact]
    public void WithSkipNonFiniteTheStepIsCountedAndTheNextOneTrains()
    {
        var (model, trainer, before) = Poisoned(skip: true);
        var skipped = trainer.TrainStep();
        Assert.True(skipped.Skipped);
        Assert.Equal((1, 1), (trainer.Step, trainer.SkippedSteps));
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], model.Parameters[i].Value);
        Assert.All(trainer.Moments, m => Assert.All(m.First, v => Assert.Equal(0f, v)));

        model.Parameters[^1].Value[0] = 0f;
        var next = trainer.TrainStep();
        Assert.False(next.Skipped);
        Assert.True(double.IsFinite(next.TrainLoss));
        Assert.Equal((2, 1), (trainer.Step, trainer.SkippedSteps));
        Assert.Equal(1, trainer.State.SkippedSteps);
    }
}
