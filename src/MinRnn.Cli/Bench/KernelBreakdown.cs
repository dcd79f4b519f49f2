using System.Globalization;
using MinRnn.Kernels;
using Spectre.Console;

namespace MinRnn.Cli.Bench;

/// <summary>
/// Where a unit of work goes (a training step, a generated character): <see cref="OperationProfile"/>'s kernel totals over
/// <paramref name="Units"/> profiled units, whose median took <paramref name="UnitMilliseconds"/>.
/// </summary>
internal sealed record KernelBreakdown(int Units, double UnitMilliseconds, IReadOnlyList<OperationProfile.Entry> Operations)
{
    /// <summary>
    /// One row: per unit, a kernel's calls, time, share of the median unit, GFLOP/s (products) and GB/s (memory-bound
    /// kernels: the bytes of their arrays, each read or written once).
    /// </summary>
    public sealed record Row(string Name, double Calls, double Milliseconds, double Percent, double? Gflops, double? GigabytesPerSecond);

    /// <summary>Runs <paramref name="unit"/> <paramref name="units"/> times with this thread's kernels timed.</summary>
    public static KernelBreakdown Measure(int units, Action unit)
    {
        OperationProfile.Take(); // anything timed before is not part of these units
        OperationProfile.Enabled = true;
        try
        {
            double median = BenchTimer.MedianSeconds(unit, units, warmup: 0);
            return new KernelBreakdown(units, median * 1e3, OperationProfile.Take());
        }
        finally { OperationProfile.Enabled = false; }
    }

    /// <summary>
    /// The kernels' rows, largest first, then the rest of the unit: the time between kernels (what runs outside them, and
    /// the difference between the median unit and the mean one the totals give).
    /// </summary>
    public IEnumerable<Row> Rows()
    {
        double kernels = 0;
        foreach (var e in Operations)
        {
            double ms = e.Seconds * 1e3 / Units;
            kernels += ms;
            yield return new Row(e.Name, (double)e.Calls / Units, ms, 100 * ms / UnitMilliseconds,
                e.Flops > 0 ? e.Flops / e.Seconds / 1e9 : null, e.Bytes > 0 ? e.Bytes / e.Seconds / 1e9 : null);
        }
        double rest = UnitMilliseconds - kernels;
        yield return new Row("outside the kernels", 0, rest, 100 * rest / UnitMilliseconds, null, null);
    }

    /// <summary>Prints the rows as a table, times in milliseconds or, for short units, microseconds.</summary>
    public void WriteTable(bool microseconds = false)
    {
        double scale = microseconds ? 1e3 : 1;
        var table = new Table().AddColumns("operation", "calls", microseconds ? "µs" : "ms", "share", "GFLOP/s", "GB/s");
        foreach (var row in Rows())
            table.AddRow(row.Name, row.Calls.ToString("F0", CultureInfo.InvariantCulture), (row.Milliseconds * scale).ToString("F1", CultureInfo.InvariantCulture),
                $"{row.Percent.ToString("F1", CultureInfo.InvariantCulture)}%", row.Gflops is { } g ? g.ToString("F0", CultureInfo.InvariantCulture) : "",
                row.GigabytesPerSecond is { } gb ? gb.ToString("F1", CultureInfo.InvariantCulture) : "");
        BenchOutput.Write(table, 160);
    }
}
