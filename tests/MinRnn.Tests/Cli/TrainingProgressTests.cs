using MinRnn.Cli.Training;
using MinRnn.Training;
using Spectre.Console;

namespace MinRnn.Tests.Cli;

public class TrainingProgressTests
{
    static StepReport Step(int step, int total) =>
        new(step, total, 2.0, 1e-3, 0.5, 10_000, TimeSpan.FromSeconds(step));

    /// <summary>A console that Spectre takes for an interactive ANSI terminal, writing to <paramref name="output"/>.</summary>
    static IAnsiConsole Terminal(StringWriter output) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.Yes,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.Yes,
        Out = new AnsiConsoleOutput(output),
    });

    [Fact]
    public void PlainModePrintsEveryFewStepsTheLastStepEachEvaluationAndMessages()
    {
        var output = new StringWriter();
        using (var progress = new TrainingProgress(250, startStep: 0, printEvery: 100, live: null, plain: output))
        {
            for (int step = 1; step <= 250; step++)
            {
                progress.Update(Step(step, 250));
                if (step % 100 == 0) progress.Update(new EvalReport(step, 2.5, 2.5, 100));
            }
            progress.Message("saved best checkpoint");
        }

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.StartsWith("step 100/250  loss 2.0000  lr", lines[0]);
        Assert.StartsWith("eval step 100/250", lines[1]);
        // One second a step since step 1, the first this process took: 50 steps are left after step 200.
        Assert.Equal("step 200/250  loss 2.0000  val 2.5000 (best 2.5000 @ 100)  lr 1.0e-03  10,000 tok/s  elapsed 0:03:20  eta 0:00:50", lines[2]);
        Assert.StartsWith("eval step 200/250", lines[3]);
        Assert.StartsWith("step 250/250", lines[4]);
        Assert.Equal("saved best checkpoint", lines[5]);
    }

    [Fact]
    public async Task LiveModeShowsTheBarAndMessagesAndEndsCleanly()
    {
        var output = new StringWriter();
        var console = Terminal(output);
        await Task.Run(() =>
        {
            using var progress = new TrainingProgress(3, startStep: 1, printEvery: 1, console, TextWriter.Null);
            progress.Update(Step(2, 3));
            progress.Update(new EvalReport(2, 1.5, 1.5, 2));
            progress.Message("saved best checkpoint");
            progress.Update(Step(3, 3));
            progress.Update(new EvalReport(3, 1.25, 1.25, 3));
        }).WaitAsync(TimeSpan.FromSeconds(30));

        string text = output.ToString();
        Assert.Contains("saved best checkpoint", text);
        Assert.Contains("eval step 2/3", text);
        Assert.Contains("step 3/3", text);
        Assert.Contains("100%", text);
        // Spectre redraws on its own clock, so only the final frame is sure to be there: it must show the last
        // evaluation, which came after the last step.
        Assert.Contains("val 1.2500 (best 1.2500 @ 3)", text);
    }

    [Fact]
    public async Task AnExceptionInTheLoopEndsTheLiveDisplayAndPropagates()
    {
        var console = Terminal(new StringWriter());
        void FailingRun()
        {
            using var progress = new TrainingProgress(100, 0, 1, console, TextWriter.Null);
            progress.Update(Step(1, 100));
            throw new InvalidOperationException("the loss is NaN");
        }

        await Task.Run(() =>
        {
            Assert.Throws<InvalidOperationException>(FailingRun);
            // Spectre lets one live display hold a console at a time: a second one starts only if the first has ended.
            using var again = new TrainingProgress(100, 0, 1, console, TextWriter.Null);
        }).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
