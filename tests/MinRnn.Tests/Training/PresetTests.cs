using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

public class PresetTests
{
    [Fact]
    public void ThePaperPresetKeepsTheFixedPointsOfTheSpecification()
    {
        var (model, training) = (Preset.Paper.Model, Preset.Paper.Training);
        Assert.Equal(new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, 0, Dim: 384, Layers: 3, Expansion: 2, ConvKernel: 4, MlpMultiplier: 4, Dropout: 0.2f), model);
        Assert.Equal((64, 256, 1e-3, 0.25, 5000), (training.Batch, training.Context, training.LearningRate, training.Clip, training.Steps));
        // The rate stays at the paper's 1e-3 after 25 warm-up steps, the weights averaged with decay 0.98 (docs/results.md, tuning runs 9 and 12).
        Assert.Equal([1e-3, 1e-3, 1e-3], new[] { training.Schedule.At(25), training.Schedule.At(1500), training.Schedule.At(5000) });
        Assert.True(training.Schedule.At(24) < 1e-3);
        Assert.Equal(0.98, training.EmaDecay);
        Assert.Equal(50, training.EvalEvery); // 1.50 is seen one evaluation sooner (tuning, the timed runs)
    }

    [Fact]
    public void TheSeedPresetIsTheSeedsModel()
    {
        Assert.Equal(new ModelConfig(Architecture.Plain, RecurrentCell.MinGru, 0, Dim: 384, Layers: 3), Preset.Seed.Model);
        Assert.Equal((64, 256), (Preset.Seed.Training.Batch, Preset.Seed.Training.Context));
    }

    [Fact]
    public void TheMambaPresetIsThePaperModelsScaleWithThePaperPresetsOptimisation()
    {
        var model = Preset.Mamba.Model with { VocabularySize = 65 };
        Assert.Equal((Architecture.Mamba, 384, 6, 768, 16, 4, 24), (model.Architecture, model.Dim, model.Layers, model.Hidden, model.State, model.ConvKernel, model.DtRank));
        Assert.Equal(5_810_688, model.ParameterCount());
        Assert.Equal(Preset.Paper.Training with { WarmupSteps = 100, MinLearningRate = 1e-4, DecaySteps = 1500, EmaDecay = 0.995, EvalEvery = 100 }, Preset.Mamba.Training);
    }

    [Fact]
    public void TheCopyPaperPresetIsTheAuthorsSelectiveCopyingSetting()
    {
        var (model, training) = (Preset.CopyPaper.Model, Preset.CopyPaper.Training);
        Assert.Equal(new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, 16, Dim: 64, Layers: 3, Expansion: 6, ConvKernel: 0, MlpMultiplier: 0, Dropout: 0.1f), model);
        Assert.Equal(new SelectiveCopyTask(Length: 4096, Tokens: 16, VocabularySize: 16, ValidationSequences: 200 * 64), Preset.CopyPaper.Task);
        Assert.Equal((64, 2, 4096 + 16, 400_000), (training.Batch, training.GradientAccumulation, training.Context, training.Steps));
        Assert.Equal((3e-4, 3e-4, 0.05, 1.0), (training.LearningRate, training.MinLearningRate, training.WeightDecay, training.Clip));
    }

    [Fact]
    public void EveryPresetIsValidAndFoundByNameWhateverTheCase()
    {
        Assert.Same(Preset.Quick, Preset.All[0]);
        foreach (var preset in Preset.All)
        {
            (preset.Model with { VocabularySize = 65 }).Validated();
            preset.Training.Validated();
            Assert.Same(preset, Preset.Find(preset.Name.ToUpperInvariant()));
            // A task's preset trains on sequences of the task's length, over the task's tokens.
            if (preset.Task is { } task)
                Assert.Equal((task.Validated().SequenceLength, task.VocabularySize), (preset.Training.Context, preset.Model.VocabularySize));
        }
        Assert.Null(Preset.Find("huge"));
    }
}
