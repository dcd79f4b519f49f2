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
        Assert.Equal(Preset.Paper.Training, Preset.Mamba.Training);
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
        }
        Assert.Null(Preset.Find("huge"));
    }
}
