using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

/// <summary>Training on the selective-copy task: a small minGRU learns it, and only with depth.</summary>
public class SelectiveCopyTrainingTests
{
    /// <summary>4 tokens among 16 positions, 4 data tokens: seconds to learn.</summary>
    static readonly SelectiveCopyTask Task = new(Length: 16, Tokens: 4, VocabularySize: 6, ValidationSequences: 256);

    static readonly TrainingOptions Options = new()
    {
        Batch = 32, Context = Task.SequenceLength, Steps = 1500, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 20,
        WeightDecay = 0.05, Clip = 1.0, EvalEvery = 1500, Seed = 1337,
    };

    /// <summary>
    /// The paper's observation at a small size: two layers of minGRU copy the tokens (100% here), one does not (about
    /// 80%): a single layer's gates see the current token only, so it cannot tell which of the M slots a token goes to.
    /// </summary>
    [Theory]
    [InlineData(2, 0.95, 1.0)]
    [InlineData(1, 0.0, 0.9)]
    public void ATwoLayerMinGruLearnsToCopyAndOneLayerDoesNot(int layers, double lowest, double highest)
    {
        var model = LanguageModel.Create(new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, Task.VocabularySize, Dim: 32, Layers: layers,
            Expansion: 2, ConvKernel: 0, MlpMultiplier: 0));
        model.Initialize(Options.Seed);
        var trainer = new Trainer(model, new SelectiveCopySource(Task), Options);
        var (evaluation, again) = ThreadCount.One(() =>
        {
            while (!trainer.Finished) trainer.TrainStep();
            return (trainer.Evaluate(), Evaluator.Validate(model, new SelectiveCopyValidation(Task), 64));
        });
        Assert.InRange(evaluation.ValidationAccuracy, lowest, highest);
        Assert.Equal(evaluation.ValidationAccuracy, again.Accuracy);
    }

    [Fact]
    public void TheBestEvaluationOfATaskIsTheMostAccurateTiesGoingToTheLowerLoss()
    {
        // A learning rate far too high makes the accuracy wander: the best is the most accurate, not the lowest loss.
        var options = Options with { Steps = 60, LearningRate = 0.3, MinLearningRate = 0.3, EvalEvery = 1 };
        var model = LanguageModel.Create(new ModelConfig(Architecture.Plain, RecurrentCell.MinGru, Task.VocabularySize, Dim: 8, Layers: 1));
        model.Initialize(1);
        var trainer = new Trainer(model, new SelectiveCopySource(Task), options);
        var evaluations = ThreadCount.One(() =>
        {
            var all = new List<EvalReport>();
            while (!trainer.Finished)
            {
                trainer.TrainStep();
                all.Add(trainer.Evaluate());
            }
            return all;
        });
        var best = evaluations.OrderByDescending(e => e.ValidationAccuracy).ThenBy(e => e.ValidationLoss).ThenBy(e => e.Step).First();
        Assert.Equal((best.Step, best.ValidationLoss, best.ValidationAccuracy), (trainer.BestStep, trainer.BestValidationLoss, trainer.BestValidationAccuracy));
        Assert.NotEqual(evaluations.Min(e => e.ValidationLoss), trainer.BestValidationLoss);
    }
}
