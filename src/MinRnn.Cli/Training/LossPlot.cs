using MinRnn.IO;
using ScottPlot;

namespace MinRnn.Cli.Training;

/// <summary>
/// Draws a run's loss curves to a PNG: the training loss (faint, with a smoothed line over it), the validation loss
/// (bold, one marker per evaluation) and a dashed line at the best evaluation's loss, against the step; and, on a
/// second axis at the right, the validation accuracy when the evaluations measured it.
/// </summary>
internal static class LossPlot
{
    /// <summary>The file's name inside the run directory.</summary>
    public const string FileName = "loss.png";

    const int Width = 1000, Height = 600;

    // Matplotlib's first two colours: the familiar blue for training, orange for validation.
    static readonly Color TrainColor = Color.FromHex("#1f77b4");
    static readonly Color ValidationColor = Color.FromHex("#ff7f0e");
    // Matplotlib's third: green, for the accuracy.
    static readonly Color AccuracyColor = Color.FromHex("#2ca02c");

    /// <summary>
    /// Renders <paramref name="history"/> and replaces the PNG at <paramref name="path"/> atomically, so that a viewer
    /// refreshing the file never reads half an image. Non-finite losses are left out.
    /// </summary>
    /// <param name="path">The PNG to write, normally <c>&lt;out&gt;/loss.png</c>.</param>
    /// <param name="title">The plot's title, e.g. "minGRU residual 3x384".</param>
    /// <param name="history">The points to draw, e.g. <see cref="MetricsLog.History"/>.</param>
    public static void Save(string path, string title, MetricsHistory history)
    {
        byte[] png = Render(title, history);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    /// <summary>The plot as PNG bytes.</summary>
    static byte[] Render(string title, MetricsHistory history)
    {
        var train = history.Train.Where(p => double.IsFinite(p.Loss)).ToArray();
        var eval = history.Eval.Where(p => double.IsFinite(p.Loss)).ToArray();
        double[] trainSteps = train.Select(p => (double)p.Step).ToArray(), trainLoss = train.Select(p => p.Loss).ToArray();
        double[] evalSteps = eval.Select(p => (double)p.Step).ToArray(), evalLoss = eval.Select(p => p.Loss).ToArray();
        double[] smoothed = MovingAverage(trainLoss, Math.Max(1, trainLoss.Length / 50));

        using var plot = new Plot();
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss (nats/char)");

        if (train.Length > 0)
        {
            // SignalXY (steps ascend) draws at most a few points per pixel column, which keeps a long run cheap to redraw.
            var raw = plot.Add.SignalXY(trainSteps, trainLoss, TrainColor.WithAlpha(0.3));
            raw.LineWidth = 1;
            raw.LegendText = "train";
            var smooth = plot.Add.SignalXY(trainSteps, smoothed, TrainColor);
            smooth.LineWidth = 1.5f;
            smooth.LegendText = "train (smoothed)";
        }
        if (eval.Length > 0)
        {
            var validation = plot.Add.Scatter(evalSteps, evalLoss, ValidationColor);
            validation.LineWidth = 3;
            validation.MarkerSize = 8;
            validation.LegendText = "validation";
            var best = eval[^1];
            var line = plot.Add.HorizontalLine(best.BestLoss, 1.5f, ValidationColor, LinePattern.Dashed);
            line.LegendText = $"best validation {best.BestLoss:F4} @ {best.BestStep}";
        }
        var measured = eval.Where(p => double.IsFinite(p.Accuracy)).ToArray();
        if (measured.Length > 0)
        {
            var accuracy = plot.Add.Scatter(measured.Select(p => (double)p.Step).ToArray(), measured.Select(p => 100 * p.Accuracy).ToArray(), AccuracyColor);
            accuracy.LineWidth = 2;
            accuracy.MarkerSize = 6;
            accuracy.LegendText = $"validation accuracy (right), best {100 * measured[^1].BestAccuracy:F2}%";
            accuracy.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "accuracy (%)";
            plot.Axes.Right.Min = 0;
            plot.Axes.Right.Max = 100;
        }
        // Inside, the legend would hide the accuracy, which ends high on the right: then it goes under the plot.
        if (measured.Length > 0) plot.ShowLegend(Edge.Bottom);
        else if (train.Length + eval.Length > 0) plot.ShowLegend(Alignment.UpperRight);
        if (LossRange(trainLoss, smoothed, evalLoss) is var (bottom, top)) plot.Axes.SetLimitsY(bottom, top);

        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>
    /// The y range to show, or null to let the plot fit everything. The first steps' loss (about ln of the vocabulary
    /// size) is far above the rest of the run and would squash the part worth reading into a sliver at the bottom, so
    /// the top is the highest validation loss or smoothed training loss after the first 5% of the points.
    /// </summary>
    static (double Bottom, double Top)? LossRange(double[] train, double[] smoothed, double[] eval)
    {
        const int MinPoints = 20;
        if (train.Length < MinPoints) return null;
        double top = Math.Max(smoothed.Skip(train.Length / 20).Max(), eval.DefaultIfEmpty(double.MinValue).Max());
        double bottom = Math.Min(train.Min(), eval.DefaultIfEmpty(double.MaxValue).Min());
        double margin = 0.05 * Math.Max(top - bottom, 1e-3);
        return (bottom - margin, top + margin);
    }

    /// <summary>
    /// The mean of each value's neighbourhood of <paramref name="window"/> points centred on it (narrower at the ends):
    /// centred rather than trailing so that the smoothed curve does not lag behind the falling loss.
    /// </summary>
    static double[] MovingAverage(double[] values, int window)
    {
        var prefix = new double[values.Length + 1];
        for (int i = 0; i < values.Length; i++) prefix[i + 1] = prefix[i] + values[i];
        var mean = new double[values.Length];
        int half = window / 2;
        for (int i = 0; i < values.Length; i++)
        {
            int from = Math.Max(0, i - half), to = Math.Min(values.Length, i + half + 1);
            mean[i] = (prefix[to] - prefix[from]) / (to - from);
        }
        return mean;
    }
}
