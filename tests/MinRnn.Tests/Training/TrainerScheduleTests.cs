using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

/// <summary>How --decay-steps and --patience shape a run.</summary>
public class TrainerScheduleTests
{
    static readonly CharCorpus Corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("to be, or not to be, that is the question. ", 150)), "test");

    static readonly ModelConfig Config = new(Architecture.Plain, RecurrentCell.MinGru, Corpus.Vocabulary.Count, Dim: 12, Layers: 1);

    static readonly TrainingOptions Options = new()
    {
        Batch = 4, Context = 16, Steps = 10, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 2, EvalEvery = 5, Seed = 5,
    };

    [Fact]
    public void ALongerRunThatDecaysByStepNEqualsARunOfNStepsOverThoseSteps()
    {
        var (shortRun, _) = Train(Options);
        var (longRun, trainer) = Train(Options with { Steps = 16, DecaySteps = Options.Steps }, until: Options.Steps);
        Assert.Equal(shortRun, longRun);
        Assert.False(trainer.Finished);
    }

    [Fact]
    public void PatienceStopsAfterAnEvaluationOnceTheBestIsThatOld()
    {
        // A learning rate far too high makes the validation loss wander, so it soon stops improving.
        var options = Options with { Steps = 200, LearningRate = 0.5, MinLearningRate = 0.5, EvalEvery = 1, Patience = 3 };
        var (losses, trainer) = Train(options);
        Assert.True(trainer.StoppedEarly);
        Assert.True(trainer.Step < options.Steps, "the run should stop before its last step");
        Assert.Equal(options.Patience, trainer.Step - trainer.BestStep);
        // Every step was evaluated, so the log alternates train and validation losses; the last is a validation loss.
        Assert.Equal(2 * trainer.Step, losses.Count);
        var validation = losses.Where((_, i) => i % 2 == 1).ToArray();
        Assert.Equal(trainer.BestValidationLoss, validation.Min());
        Assert.Equal(trainer.BestStep, Array.IndexOf(validation, validation.Min()) + 1);

        var (_, unlimited) = Train(options with { Patience = 0 });
        Assert.Equal(options.Steps, unlimited.Step);
        Assert.False(unlimited.StoppedEarly);
    }

    /// <summary>Trains a fresh model until <see cref="Trainer.Finished"/> (or <paramref name="until"/> steps); the training and validation losses in order.</summary>
    static (List<double> Losses, Trainer Trainer) Train(TrainingOptions options, int until = int.MaxValue)
    {
        var model = LanguageModel.Create(Config);
        model.Initialize(options.Seed);
        var trainer = new Trainer(model, Corpus, options);
        var losses = new List<double>();
        while (!trainer.Finished && trainer.Step < until)
        {
            losses.Add(trainer.TrainStep().TrainLoss);
            if (trainer.EvaluationDue) losses.Add(trainer.Evaluate().ValidationLoss);
        }
        return (losses, trainer);
    }
}
