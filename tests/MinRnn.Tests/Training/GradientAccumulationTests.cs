using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

/// <summary>--grad-accum: N micro-batches of B sequences make the step of one batch of N·B.</summary>
public class GradientAccumulationTests
{
    static readonly CharCorpus Corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("to be, or not to be, that is the question. ", 150)), "test");
    static readonly SelectiveCopyTask Task = new(Length: 12, Tokens: 3, VocabularySize: 7, ValidationSequences: 8);

    /// <summary>
    /// The samplers draw sequence after sequence from one stream, so two micro-batches of 4 hold the 8 sequences of one
    /// batch of 8: the mean loss and the gradient (before clipping, which is off) agree to float rounding — the sum of
    /// two halves against one sum — and the optimiser then takes the same step.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoAccumulatedMicroBatchesGiveTheLossAndGradientOfOneBatchOfBoth(bool task)
    {
        var options = new TrainingOptions { Batch = 8, Context = task ? Task.SequenceLength : 16, Steps = 2, Clip = 0, EvalEvery = 10, Seed = 4 };
        var (wholeLoss, wholeGradients) = FirstStep(task, options);
        var (accumulatedLoss, accumulatedGradients) = FirstStep(task, options with { Batch = 4, GradientAccumulation = 2 });
        Assert.Equal(wholeLoss, accumulatedLoss, 1e-6);
        for (int i = 0; i < wholeGradients.Length; i++)
        {
            double scale = wholeGradients[i].Max(Math.Abs);
            TestData.AssertClose(wholeGradients[i], accumulatedGradients[i], 1e-4, 1e-6 * scale, $"gradient {i}");
        }
    }

    static (double Loss, float[][] Gradients) FirstStep(bool task, TrainingOptions options)
    {
        var config = task
            ? new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, Task.VocabularySize, Dim: 8, Layers: 2, Expansion: 2, MlpMultiplier: 0)
            : new ModelConfig(Architecture.Residual, RecurrentCell.MinLstm, Corpus.Vocabulary.Count, Dim: 8, Layers: 2, Expansion: 1.5, ConvKernel: 3, MlpMultiplier: 2);
        var model = LanguageModel.Create(config);
        model.Initialize(2);
        var trainer = task ? new Trainer(model, new SelectiveCopySource(Task), options) : new Trainer(model, Corpus, options);
        double loss = trainer.TrainStep().TrainLoss;
        return (loss, model.Parameters.Select(p => (float[])p.Gradient.Clone()).ToArray());
    }

    [Fact]
    public void EveryMicroBatchCountsInTheThroughput()
    {
        var options = new TrainingOptions { Batch = 2, Context = Task.SequenceLength, GradientAccumulation = 3, Steps = 1, EvalEvery = 1 };
        var model = LanguageModel.Create(new ModelConfig(Architecture.Plain, RecurrentCell.MinGru, Task.VocabularySize, Dim: 4, Layers: 1));
        model.Initialize(1);
        var trainer = new Trainer(model, new SelectiveCopySource(Task), options);
        var before = new SelectiveCopyBatches(Task, options.Seed);
        trainer.TrainStep();
        // Three micro-batches of two sequences were drawn: the sampler is where six draws of one put it.
        var inputs = new int[6 * Task.SequenceLength];
        before.Next(inputs, new int[6 * Task.Tokens]);
        Assert.Equal(before.State, trainer.State.SamplerState);
    }
}
