namespace MinRnn.Cli.Bench;

/// <summary>A finished benchmark: where it ran, how many timed runs each median has, and the rows.</summary>
internal sealed record BenchReport(BenchEnvironment Environment, int Repeat, IReadOnlyList<BenchRow> Rows);
