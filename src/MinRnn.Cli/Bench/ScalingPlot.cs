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
        plot.XLabel("sequence length (log2)");
        plot.YLabel("training step, ms (log10)");
        foreach (var group in points.GroupBy(p => p.Cell))
        {
            var line = plot.Add.Scatter(group.Select(p => Math.Log2(p.Length)).ToArray(), group.Select(p => Math.Log10(p.StepMilliseconds)).ToArray());
            line.LegendText = group.Key.DisplayName();
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        plot.ShowLegend(Alignment.UpperLeft);
        byte[] png = plot.GetImageBytes(900, 600, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
