using MinRnn.IO;
using MinRnn.Layers;
using ScottPlot;

namespace MinRnn.Cli.Bench;

/// <summary>The scaling benchmark as a log-log PNG: step time against sequence length, one line per cell.</summary>
internal static class ScalingPlot
{
    public static void Save(string path, string title, IReadOnlyList<ScalingBench.Point> points)
    {
        using var plot = new Plot();
        plot.Title(title);
        plot.XLabel("sequence length");
        plot.YLabel("training step (ms)");
        foreach (var group in points.GroupBy(p => p.Cell))
        {
            var line = plot.Add.Scatter(group.Select(p => Math.Log2(p.Length)).ToArray(), group.Select(p => Math.Log10(p.StepMilliseconds)).ToArray());
            line.LegendText = group.Key.DisplayName();
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        // Log-log: the points are placed at log2(length) and log10(ms); the ticks name the values themselves.
        var lengths = points.Select(p => p.Length).Distinct().Order().ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            lengths.Select(l => Math.Log2(l)).ToArray(), lengths.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        int low = (int)Math.Floor(Math.Log10(points.Min(p => p.StepMilliseconds))), high = (int)Math.Ceiling(Math.Log10(points.Max(p => p.StepMilliseconds)));
        var decades = Enumerable.Range(low, high - low + 1).ToArray();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            decades.Select(e => (double)e).ToArray(), decades.Select(e => Math.Pow(10, e).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.ShowLegend(Alignment.UpperLeft);
        byte[] png = plot.GetImageBytes(900, 600, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
