using MinRnn.Kernels;

namespace MinRnn.Cli.Bench;

/// <summary>
/// Measures a piece of work at one thread and at <see cref="Threads"/> threads and makes a
/// <see cref="BenchRow"/> of it. <see cref="MeasurePeak"/> first: its two rates are what the later
/// rows' "% of peak" refer to.
/// </summary>
internal sealed class BenchRunner(int threads, int repeat)
{
    static readonly TimeSpan PeakWarmup = TimeSpan.FromMilliseconds(100);
    static readonly TimeSpan PeakRun = TimeSpan.FromMilliseconds(200);

    double? peakOne, peakAll;

    /// <summary>The thread count of the multi-threaded measurements.</summary>
    public int Threads { get; } = threads;

    /// <summary>Timed runs per measurement; each result is their median.</summary>
    public int Repeat { get; } = repeat;

    /// <summary>
    /// Measures the FMA peak (<see cref="FmaPeak"/>) at one thread and at all threads: the best of
    /// <see cref="Repeat"/> runs, since interference from other processes only ever lowers it.
    /// </summary>
    public BenchRow MeasurePeak()
    {
        peakOne = Peak(1);
        peakAll = Peak(Threads);
        return new BenchRow("peak", $"FMA, 12 chains of {BenchEnvironment.SimdName(Simd.Width)}", "registers only", null,
            new BenchMeasurement(1, null, peakOne, null),
            new BenchMeasurement(Threads, null, peakAll, null));
    }

    /// <summary>
    /// Times <paramref name="run"/> (median of <see cref="Repeat"/> runs after one warm-up) with the
    /// engine at one thread, then at <see cref="Threads"/> threads. With <paramref name="gflop"/>, the
    /// size of one run in GFLOP, the row also has GFLOP/s and % of the FMA peak.
    /// </summary>
    public BenchRow Measure(string group, string name, string shape, double? gflop, Action run) =>
        new(group, name, shape, gflop, Time(1, gflop, peakOne, run), Time(Threads, gflop, peakAll, run));

    BenchMeasurement Time(int threads, double? gflop, double? peak, Action run)
    {
        Parallelism.Threads = threads;
        double seconds = BenchTimer.MedianSeconds(run, Repeat);
        double? gflops = gflop / seconds;
        return new BenchMeasurement(threads, seconds * 1e3, gflops, 100 * gflops / peak);
    }

    double Peak(int threads)
    {
        Parallelism.Threads = threads;
        FmaPeak.MeasureGflops(threads, PeakWarmup);
        var runs = new double[Repeat];
        for (int i = 0; i < runs.Length; i++) runs[i] = FmaPeak.MeasureGflops(threads, PeakRun);
        return runs.Max();
    }
}
