using MinRnn.Cli.Training;
using MinRnn.Training;

namespace MinRnn.Tests.Cli;

public class ProgressLineTests
{
    [Fact]
    public void AStepLineHasEveryFigureInItsPlace()
    {
        var step = new StepReport(120, 2000, 1.82341, 9.5e-4, 0.7, 41_230.4, new TimeSpan(0, 1, 12));
        var eval = new EvalReport(100, 1.90123, 1.90123, 100);

        Assert.Equal("step 120/2000  loss 1.8234  val 1.9012 (best 1.9012 @ 100)  lr 9.5e-04  41,230 tok/s  elapsed 0:01:12  eta 0:18:30",
            ProgressLine.Step(step, eval, new TimeSpan(0, 18, 30)));
    }

    [Fact]
    public void BeforeTheFirstEvaluationAndPaceTheValidationPartIsLeftOutAndTheEtaIsADash()
    {
        var step = new StepReport(1, 2000, 4.17439, 1e-5, 3.2, 1234, TimeSpan.FromMilliseconds(900));

        Assert.Equal("step 1/2000  loss 4.1744  lr 1.0e-05  1,234 tok/s  elapsed 0:00:00  eta -", ProgressLine.Step(step, null, null));
    }

    [Fact]
    public void AnEvalLineSaysWhetherItIsANewBest()
    {
        Assert.Equal("eval step 100/2000  val 1.9012 (2.7429 bits/char)  best 1.9012 @ 100  new best",
            ProgressLine.Eval(new EvalReport(100, 1.9012, 1.9012, 100), 2000));
        Assert.Equal("eval step 200/2000  val 1.9500 (2.8133 bits/char)  best 1.9012 @ 100",
            ProgressLine.Eval(new EvalReport(200, 1.95, 1.9012, 100), 2000));
    }

    [Fact]
    public void MeasuredAccuraciesFollowTheirLosses()
    {
        var step = new StepReport(120, 2000, 0.41234, 3e-3, 0.7, 41_230.4, new TimeSpan(0, 1, 12));
        var eval = new EvalReport(100, 0.5, 0.45, 80) { ValidationAccuracy = 0.8125, BestValidationAccuracy = 0.83 };

        Assert.Equal("step 120/2000  loss 0.4123  val 0.5000 acc 81.25% (best 0.4500 acc 83.00% @ 80)  lr 3.0e-03  41,230 tok/s  elapsed 0:01:12  eta -",
            ProgressLine.Step(step, eval, null));
        Assert.Equal("eval step 100/2000  val 0.5000 (0.7213 bits/char) acc 81.25%  best 0.4500 acc 83.00% @ 80", ProgressLine.Eval(eval, 2000));
    }

    [Fact]
    public void DurationsCountHoursPastADay() =>
        Assert.Equal("27:03:05", ProgressLine.Duration(new TimeSpan(1, 3, 3, 5, 900)));
}
