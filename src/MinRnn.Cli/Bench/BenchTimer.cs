using System.Diagnostics;

namespace MinRnn.Cli.Bench;

/// <summary>Times an action: a few untimed warm-up runs, then the median of the timed runs; and the statistics the benchmarks report.</summary>
internal static class BenchTimer
{
    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then
    /// <paramref name="repeat"/> times timed, and returns the median duration in seconds.</summary>
    public static double MedianSeconds(Action action, int repeat, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) action();
        var seconds = new double[repeat];
        for (int i = 0; i < repeat; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return Median(seconds);
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>
    /// The <paramref name="percent"/>th percentile of <paramref name="values"/> by nearest rank: the smallest value that
    /// at least that share of the values do not exceed.
    /// </summary>
    public static double Percentile(double[] values, double percent)
    {
        if (values.Length == 0) throw new ArgumentException("BenchTimer.Percentile: no values.");
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
