namespace MinRnn.Cli.Bench;

/// <summary>
/// One line of the benchmark report: a piece of work in a <paramref name="Group"/> (e.g. "minGRU GEMM"),
/// its <paramref name="Shape"/> in words, its size in GFLOP when known, and its measurements at one
/// thread and at all threads. The table and the JSON output are both made from these rows.
/// </summary>
internal sealed record BenchRow(string Group, string Name, string Shape, double? Gflop,
    BenchMeasurement OneThread, BenchMeasurement AllThreads)
{
    /// <summary>How many times faster all threads are than one: by rate when known, else by time.</summary>
    public double? Speedup =>
        OneThread.Gflops is { } one && AllThreads.Gflops is { } all ? all / one :
        OneThread.Milliseconds is { } t1 && AllThreads.Milliseconds is { } tn ? t1 / tn : null;
}
