using MinRnn.Training;

namespace MinRnn.Tests.Training;

public class LearningRateScheduleTests
{
    [Fact]
    public void WarmsUpLinearlyThenFollowsTheCosineToTheMinimumAndHoldsIt()
    {
        var schedule = new LearningRateSchedule(Peak: 1e-3, Minimum: 1e-4, WarmupSteps: 10, DecaySteps: 110);
        Assert.Equal(1e-4, schedule.At(1), 15);
        Assert.Equal(1e-3, schedule.At(10), 15);
        Assert.Equal(1e-4 + 0.9e-3 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)), schedule.At(35), 15);
        Assert.Equal(0.55e-3, schedule.At(60), 15);
        Assert.Equal(1e-4, schedule.At(110), 15);
        Assert.Equal(1e-4, schedule.At(5000), 15);
        for (int s = 11; s <= 110; s++) Assert.True(schedule.At(s) <= schedule.At(s - 1));
    }

    [Fact]
    public void DecayStepsZeroMeansTheLastStepAndOtherwiseOnlyMovesTheEndOfTheDecay()
    {
        var options = new TrainingOptions { Steps = 400, LearningRate = 2e-3, MinLearningRate = 2e-4, WarmupSteps = 20 };
        Assert.Equal(new LearningRateSchedule(2e-3, 2e-4, 20, 400), options.Schedule);
        Assert.Equal(new LearningRateSchedule(2e-3, 2e-4, 20, 150), (options with { DecaySteps = 150 }).Schedule);
    }

    [Theory]
    [InlineData(-1, 0, "--decay-steps")]
    [InlineData(20, 0, "--decay-steps")]
    [InlineData(0, -5, "--patience")]
    public void InvalidDecayOrPatienceIsRefusedWithItsFlag(int decaySteps, int patience, string flag)
    {
        var options = new TrainingOptions { WarmupSteps = 20, DecaySteps = decaySteps, Patience = patience };
        Assert.StartsWith(flag, Assert.Throws<ArgumentException>(() => options.Validated()).Message);
    }
}
