namespace MinRnn.Cli.Bench;

/// <summary>
/// One measurement at one thread count. A timed kernel has <see cref="Milliseconds"/> (median of the
/// runs), and <see cref="Gflops"/> when its flop count is known; <see cref="PercentOfPeak"/> compares
/// the rate with the FMA peak at the same thread count. A rate-only measurement (the peak itself) has
/// no time.
/// </summary>
internal sealed record BenchMeasurement(int Threads, double? Milliseconds, double? Gflops, double? PercentOfPeak);
