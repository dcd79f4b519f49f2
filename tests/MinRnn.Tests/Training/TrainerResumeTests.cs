using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

public class TrainerResumeTests
{
    static readonly CharCorpus Corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 200)), "test");

    static readonly TrainingOptions Options = new()
    {
        Batch = 4, Context = 16, Steps = 12, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 3, EvalEvery = 4, Seed = 21,
    };

    static readonly ModelConfig Config = new(Architecture.Residual, RecurrentCell.MinLstm, Corpus.Vocabulary.Count, Dim: 12, Layers: 2,
        Expansion: 1.5, ConvKernel: 3, MlpMultiplier: 2, Dropout: 0.2f);

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.8)]
    public void ARunStoppedAndResumedFromItsFilesEqualsAnUninterruptedRun(double ema)
    {
        var options = Options with { EmaDecay = ema };
        var (straight, straightLosses) = Train(null, Options.Steps, options: options);

        string directory = Directory.CreateTempSubdirectory("minrnn-resume").FullName;
        try
        {
            var (_, firstLosses) = Train(null, 5, directory, options);
            var (resumed, resumedLosses) = Train(LanguageModel.Create(Config), Options.Steps, directory, options);
            Assert.Equal(straightLosses, firstLosses.Concat(resumedLosses));
            for (int i = 0; i < straight.Parameters.Count; i++)
                Assert.Equal(straight.Parameters[i].Value, resumed.Parameters[i].Value);
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [Fact]
    public void SameSeedGivesTheSameLossCurveWhateverTheThreadCount()
    {
        lock (GlobalState.Lock)
        {
            int saved = MinRnn.Kernels.Parallelism.Threads;
            try
            {
                MinRnn.Kernels.Parallelism.Threads = 1;
                var (_, one) = Train(null, Options.Steps);
                MinRnn.Kernels.Parallelism.Threads = 2;
                var (_, two) = Train(null, Options.Steps);
                Assert.Equal(one, two);
            }
            finally { MinRnn.Kernels.Parallelism.Threads = saved; }
        }
    }

    /// <summary>
    /// Trains to <paramref name="until"/> (from a fresh model, or from the state file in <paramref name="directory"/>, which
    /// overwrites <paramref name="resumeFrom"/>'s parameters), saving the state there at the end; returns the model and the losses.
    /// </summary>
    static (LanguageModel Model, List<double> Losses) Train(LanguageModel? resumeFrom, int until, string? directory = null, TrainingOptions? options = null)
    {
        var model = resumeFrom ?? LanguageModel.Create(Config);
        if (resumeFrom is null) model.Initialize(Options.Seed);
        var trainer = new Trainer(model, Corpus, options ?? Options);
        if (resumeFrom is not null) TrainingCheckpoint.Restore(Path.Combine(directory!, "state.safetensors"), trainer, model);
        var losses = new List<double>();
        while (trainer.Step < until)
        {
            losses.Add(trainer.TrainStep().TrainLoss);
            if (trainer.EvaluationDue) losses.Add(trainer.Evaluate().ValidationLoss);
        }
        if (directory is not null)
        {
            TrainingCheckpoint.Save(Path.Combine(directory, "state.safetensors"), trainer, model);
        }
        return (model, losses);
    }
}
