using MinRnn.Cli.Training;
using MinRnn.Tests.IO;

namespace MinRnn.Tests.Cli;

public class LossPlotTests
{
    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    static MetricsHistory History(int steps, int evalEvery, bool accuracy = false)
    {
        var history = new MetricsHistory();
        var random = new Random(1);
        double best = double.PositiveInfinity;
        int bestStep = 0;
        for (int step = 1; step <= steps; step++)
        {
            double loss = 1.5 + 2.7 * Math.Exp(-step / 50.0) + 0.05 * random.NextDouble();
            history.Add(new TrainPoint(step, loss, 1e-3, 0.5, 40_000, step * 0.1));
            if (step % evalEvery != 0) continue;
            double validation = loss + 0.05;
            if (validation < best) (best, bestStep) = (validation, step);
            double measured = accuracy ? 1 - Math.Exp(-step / 80.0) : double.NaN;
            history.Add(new EvalPoint(step, validation, validation / Math.Log(2), best, bestStep, step * 0.1, measured, measured));
        }
        return history;
    }

    [Fact]
    public void SaveWritesAPngAndLeavesNoTemporaryFile()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, LossPlot.FileName);

        LossPlot.Save(path, "minGRU residual 3x384", History(steps: 2000, evalEvery: 250));
        long first = new FileInfo(path).Length;
        LossPlot.Save(path, "minGRU residual 3x384", History(steps: 3000, evalEvery: 250));

        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, png[..PngSignature.Length]);
        Assert.True(first > 10_000 && png.Length > 10_000, $"{first} and {png.Length} bytes: too small to hold the curves");
        Assert.Equal([LossPlot.FileName], dir.Files());
    }

    [Fact]
    public void MeasuredAccuraciesGetACurveOfTheirOwn()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, LossPlot.FileName);
        LossPlot.Save(path, "task", History(steps: 500, evalEvery: 50));
        byte[] without = File.ReadAllBytes(path);
        LossPlot.Save(path, "task", History(steps: 500, evalEvery: 50, accuracy: true));
        byte[] with = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, with[..PngSignature.Length]);
        Assert.NotEqual(without, with);
    }

    [Fact]
    public void AnEmptyOrTinyHistoryStillGivesAnImage()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, LossPlot.FileName);

        LossPlot.Save(path, "empty", new MetricsHistory());
        Assert.Equal(PngSignature, File.ReadAllBytes(path)[..PngSignature.Length]);
        LossPlot.Save(path, "one step", History(steps: 1, evalEvery: 1));
        Assert.Equal(PngSignature, File.ReadAllBytes(path)[..PngSignature.Length]);
    }
}
