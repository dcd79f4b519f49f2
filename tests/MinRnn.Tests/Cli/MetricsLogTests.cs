using System.Text.Json;
using MinRnn.Cli.Training;
using MinRnn.Tests.IO;
using MinRnn.Training;

namespace MinRnn.Tests.Cli;

public class MetricsLogTests
{
    /// <summary>Steps <paramref name="from"/>..<paramref name="to"/> of a run of <paramref name="total"/>, evaluating every <paramref name="evalEvery"/>.</summary>
    static void Run(MetricsLog log, int from, int to, int total, int evalEvery)
    {
        for (int step = from; step <= to; step++)
        {
            var elapsed = TimeSpan.FromSeconds(step * 0.25);
            log.Write(new StepReport(step, total, 4.0 / step, 1e-3 * step / total, 0.5 + step * 1e-3, 40_000 + step, elapsed));
            if (step % evalEvery == 0)
                log.Write(new EvalReport(step, 3.0 / step, 3.0 / step, step) { ValidationAccuracy = step / 100.0, BestValidationAccuracy = step / 100.0 }, elapsed);
        }
    }

    static string[] Lines(string path) => File.ReadAllLines(path);

    static int[] Steps(string path) => Lines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToArray();

    [Fact]
    public void WritesEveryLogEveryStepsTheFirstAndTheLastAndEveryEvaluation()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path, logEvery: 10)) Run(log, 1, 25, total: 25, evalEvery: 10);

        var kinds = Lines(Path.Combine(dir.Path, MetricsLog.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => $"{e.GetProperty("kind").GetString()} {e.GetProperty("step").GetInt32()}");
        Assert.Equal(["train 1", "train 10", "eval 10", "train 20", "eval 20", "train 25"], kinds);
    }

    [Fact]
    public void LinesHaveTheDocumentedFieldsAndParseBackToTheHistory()
    {
        using var dir = new TempDirectory();
        MetricsHistory written;
        using (var log = new MetricsLog(dir.Path, logEvery: 5))
        {
            Run(log, 1, 20, total: 20, evalEvery: 10);
            written = log.History;
        }
        string path = Path.Combine(dir.Path, MetricsLog.FileName);

        var lines = Lines(path).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        var train = lines.First(e => e.GetProperty("kind").GetString() == "train");
        var eval = lines.First(e => e.GetProperty("kind").GetString() == "eval");
        Assert.Equal(["kind", "step", "train_loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s"], train.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["kind", "step", "val_loss", "val_bpc", "best_val_loss", "best_step", "elapsed_s", "val_accuracy", "best_val_accuracy"],
            eval.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.1, eval.GetProperty("val_accuracy").GetDouble());
        Assert.Equal(4.0, train.GetProperty("train_loss").GetDouble());
        Assert.Equal(0.25, train.GetProperty("elapsed_s").GetDouble());
        Assert.Equal(0.3 / Math.Log(2), eval.GetProperty("val_bpc").GetDouble());

        var read = MetricsLog.Read(path);
        Assert.Equal(written.Train, read.Train);
        Assert.Equal(written.Eval, read.Eval);
        Assert.Equal([1, 5, 10, 15, 20], read.Train.Select(p => p.Step));
        Assert.Equal(new EvalPoint(20, 0.15, 0.15 / Math.Log(2), 0.15, 20, 5.0, 0.2, 0.2), read.Eval[1]);
    }

    [Fact]
    public void AnEvalLineWrittenBeforeAccuracyWasMeasuredReadsAsNaNAccuracy()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        File.WriteAllText(path, """{"kind":"eval","step":100,"val_loss":1.9,"val_bpc":2.74,"best_val_loss":1.9,"best_step":100,"elapsed_s":61.2}""" + "\n");
        var point = MetricsLog.Read(path).Eval.Single();
        Assert.Equal(new EvalPoint(100, 1.9, 2.74, 1.9, 100, 61.2), point);
        Assert.True(double.IsNaN(point.Accuracy) && double.IsNaN(point.BestAccuracy));
    }

    [Fact]
    public void AnEvaluationFlushesTheLinesBeforeIt()
    {
        using var dir = new TempDirectory();
        using var log = new MetricsLog(dir.Path, logEvery: 1);
        Run(log, 1, 10, total: 100, evalEvery: 10);

        var read = MetricsLog.Read(log.Path);
        Assert.Equal((10, 1), (read.Train.Count, read.Eval.Count));
    }

    [Fact]
    public void ResumingKeepsTheLinesUpToTheCheckpointStepAndAppendsAfterThem()
    {
        using var dir = new TempDirectory();
        // The first session got to step 27; its checkpoint is from the evaluation at step 20.
        using (var log = new MetricsLog(dir.Path, logEvery: 5)) Run(log, 1, 27, total: 40, evalEvery: 10);

        using (var log = new MetricsLog(dir.Path, logEvery: 5, resumeFromStep: 20))
        {
            Assert.Equal([1, 5, 10, 15, 20], log.History.Train.Select(p => p.Step));
            Assert.Equal([10, 20], log.History.Eval.Select(p => p.Step));
            Run(log, 21, 40, total: 40, evalEvery: 10);
        }

        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        Assert.Equal([1, 5, 10, 10, 15, 20, 20, 25, 30, 30, 35, 40, 40], Steps(path));
        var read = MetricsLog.Read(path);
        Assert.Equal([1, 5, 10, 15, 20, 25, 30, 35, 40], read.Train.Select(p => p.Step));
        Assert.Equal([10, 20, 30, 40], read.Eval.Select(p => p.Step));
        Assert.Equal([MetricsLog.FileName], dir.Files());
    }

    [Fact]
    public void ResumingWithoutAFileStartsOne()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path, resumeFromStep: 100)) Assert.Empty(log.History.Train);

        Assert.True(File.Exists(Path.Combine(dir.Path, MetricsLog.FileName)));
    }

    [Fact]
    public void ANewRunReplacesAnOldFile()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path, logEvery: 1)) Run(log, 1, 30, total: 30, evalEvery: 10);
        using (var log = new MetricsLog(dir.Path, logEvery: 1)) Run(log, 1, 2, total: 30, evalEvery: 10);

        Assert.Equal([1, 2], Steps(Path.Combine(dir.Path, MetricsLog.FileName)));
    }

    [Fact]
    public void NonFiniteValuesAreWrittenAsNullAndReadAsNaN()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path))
            log.Write(new EvalReport(1, double.NaN, double.PositiveInfinity, 0), TimeSpan.Zero);
        string path = Path.Combine(dir.Path, MetricsLog.FileName);

        Assert.Contains("\"val_loss\":null", File.ReadAllText(path));
        var eval = Assert.Single(MetricsLog.Read(path).Eval);
        Assert.True(double.IsNaN(eval.Loss) && double.IsNaN(eval.BestLoss));
    }

    [Fact]
    public void ATornLastLineIsIgnoredAndDroppedOnResume()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        using (var log = new MetricsLog(dir.Path, logEvery: 1)) Run(log, 1, 3, total: 10, evalEvery: 10);
        File.AppendAllText(path, "{\"kind\":\"train\",\"step\":4,\"train_lo");

        Assert.Equal([1, 2, 3], MetricsLog.Read(path).Train.Select(p => p.Step));
        using (new MetricsLog(dir.Path, resumeFromStep: 10)) { }
        Assert.Equal([1, 2, 3], Steps(path));
    }

    [Fact]
    public void AMalformedLineBeforeTheLastIsAnError()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        using (var log = new MetricsLog(dir.Path, logEvery: 1)) Run(log, 1, 3, total: 10, evalEvery: 10);
        var lines = Lines(path);
        lines[1] = "{\"kind\":\"train\"}";
        File.WriteAllLines(path, lines);

        var error = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path));
        Assert.Contains($"{path}:2:", error.Message);
    }
}
