using MinRnn.Kernels;
using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Tests.Training;

public class WeightAverageTests
{
    [Fact]
    public void UpdateFollowsTheFormulaWithTheWarmUpOfTheDecay()
    {
        var p = new Parameter("w", [3], decay: true);
        float[] start = [1f, -2f, 0.5f];
        start.CopyTo(p.Value, 0);
        var average = new WeightAverage([p], 0.95);
        double[] expected = start.Select(x => (double)x).ToArray();
        for (int step = 1; step <= 60; step++)
        {
            for (int j = 0; j < 3; j++) p.Value[j] = (float)Math.Sin(step + j);
            average.Update(step);
            double beta = Math.Min(0.95, (1.0 + step) / (10.0 + step));
            for (int j = 0; j < 3; j++) expected[j] = beta * expected[j] + (1 - beta) * p.Value[j];
            TestData.AssertClose(expected, average.Values[0], 1e-5, 1e-6, $"step {step}");
        }
        Assert.Equal(2.0 / 11, average.DecayAt(1), 12);
        Assert.Equal(0.95, average.DecayAt(1000));
    }

    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryVectorWidthMovesTheAverageExactlyAsTheScalarLoop(SimdWidth width)
    {
        var p = new Parameter("w", [37], decay: true);
        for (int j = 0; j < 37; j++) p.Value[j] = (float)Math.Cos(j);
        var average = new WeightAverage([p], 0.9);
        float[] expected = [.. p.Value];
        using var _ = Simd.Force(width);
        for (int step = 1; step <= 5; step++)
        {
            for (int j = 0; j < 37; j++) p.Value[j] = (float)Math.Sin(step * 37 + j);
            average.Update(step);
            float toward = (float)(1 - average.DecayAt(step));
            for (int j = 0; j < 37; j++) expected[j] += toward * (p.Value[j] - expected[j]);
        }
        Assert.Equal(expected, average.Values[0]);
    }

    [Fact]
    public void WithAverageLendsTheAverageAndGivesTheTrainingValuesBackExactlyEvenWhenTheActionThrows()
    {
        var p = new Parameter("w", [4], decay: true);
        float[] training = [0.1f, 0.2f, 0.3f, 0.4f];
        var average = new WeightAverage([p], 0.5);
        training.CopyTo(p.Value, 0);
        average.Update(100);
        float[] averaged = [.. average.Values[0]];
        Assert.Equal(averaged, average.WithAverage(() => p.Value.ToArray()));
        Assert.Equal(training, p.Value);
        Assert.Throws<InvalidOperationException>(() => average.WithAverage<int>(() => throw new InvalidOperationException()));
        Assert.Equal(training, p.Value);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void ADecayOutsideTheOpenUnitIntervalIsRefused(double decay) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightAverage([new Parameter("w", [1], decay: true)], decay));

    [Fact]
    public void TheAverageChangesWhatIsEvaluatedButNotHowTheModelTrains()
    {
        var corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("to be, or not to be, that is the question. ", 100)), "test");
        var config = new ModelConfig(Architecture.Plain, RecurrentCell.MinGru, corpus.Vocabulary.Count, Dim: 8, Layers: 2);
        var options = new TrainingOptions { Batch = 4, Context = 16, Steps = 20, LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 10, Seed = 5 };
        (LanguageModel Model, Trainer Trainer, List<double> Train, double Validation) Run(double ema)
        {
            var model = LanguageModel.Create(config);
            model.Initialize(options.Seed);
            var trainer = new Trainer(model, corpus, options with { EmaDecay = ema });
            var losses = new List<double>();
            while (!trainer.Finished) losses.Add(trainer.TrainStep().TrainLoss);
            return (model, trainer, losses, trainer.Evaluate().ValidationLoss);
        }
        var plain = Run(0);
        var averaged = Run(0.9);
        Assert.Equal(plain.Train, averaged.Train);
        for (int i = 0; i < plain.Model.Parameters.Count; i++) Assert.Equal(plain.Model.Parameters[i].Value, averaged.Model.Parameters[i].Value);
        Assert.NotEqual(plain.Validation, averaged.Validation);
        double direct = averaged.Trainer.WithEvaluatedWeights(() => Evaluator.Validate(averaged.Model, new ValidationWindows(corpus.Validation, options.Context), options.Batch).Loss);
        Assert.Equal(averaged.Validation, direct);
        Assert.Null(plain.Trainer.Average);
    }
}
