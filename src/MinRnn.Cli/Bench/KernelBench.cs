using MinRnn.Kernels;

namespace MinRnn.Cli.Bench;

/// <summary>
/// The rows of <c>minrnn bench kernels</c>: the FMA peak, the start-up of a job of the thread team, the read bandwidth
/// over the gpt-cpu and mamba presets' weights (<see cref="MemoryBench"/>), the GEMMs of one minGRU and one minLSTM
/// layer in training (batch 64 × context 256 rows, D = H = 384), then those layers' forward and
/// backward, split into the linear map and the gate + scan (<see cref="LayerBench"/>), the gpt preset's fused causal
/// attention at the same shape (<see cref="AttentionBench"/>), and the mamba preset's selective scan (d_inner = 2D = 768,
/// N = 16) beside the minGRU gate + scan of the same width (<see cref="SelectiveScanBench"/>). To add a row, measure it
/// with <see cref="BenchRunner.Measure"/> and append it to the list in <see cref="Run"/>.
/// </summary>
internal static class KernelBench
{
    const int Batch = 64, Context = 256, Width = 384;

    public static BenchReport Run(BenchRunner runner)
    {
        var environment = BenchEnvironment.Capture(runner.Threads);
        var rows = new List<BenchRow> { runner.MeasurePeak(), TeamJobs(runner) };
        rows.AddRange(MemoryBench.Rows(runner));
        rows.AddRange(Gemms(runner, "minGRU GEMM", GemmShape.Linear(Batch * Context, Width, 2 * Width)));
        rows.AddRange(Gemms(runner, "minLSTM GEMM", GemmShape.Linear(Batch * Context, Width, 3 * Width)));
        rows.AddRange(LayerBench.Rows(runner, RecurrentCell.MinGru, Batch, Context, Width));
        rows.AddRange(LayerBench.Rows(runner, RecurrentCell.MinLstm, Batch, Context, Width));
        rows.Add(AttentionBench.Row(runner, Batch, Context, Preset.Gpt.Model.Heads, Width));
        rows.AddRange(SelectiveScanBench.Rows(runner, Batch, Context, 2 * Width, ModelConfig.DefaultState));
        return new BenchReport(environment, runner.Repeat, rows);
    }

    const int EmptyJobs = 1000;

    /// <summary>
    /// What starting the team costs: <see cref="EmptyJobs"/> jobs that do nothing on every thread, back to back, so that
    /// the time in ms is the µs per job. Every kernel split between the threads pays it once (a GEMM, a step's product).
    /// </summary>
    static BenchRow TeamJobs(BenchRunner runner)
    {
        Action<WorkerContext> nothing = _ => { };
        return runner.Measure("threads", "team job", $"{EmptyJobs:N0} empty jobs: ms = µs per job", null, () =>
        {
            for (int i = 0; i < EmptyJobs; i++) Parallelism.Run(nothing);
        });
    }

    static IEnumerable<BenchRow> Gemms(BenchRunner runner, string group, IEnumerable<GemmShape> shapes)
    {
        foreach (var s in shapes)
        {
            var a = Random((long)s.M * s.K, seed: 1);
            var b = Random((long)s.K * s.N, seed: 2);
            var c = new float[(long)s.M * s.N];
            yield return runner.Measure(group, s.Name, s.Description, s.Gflop,
                () => Gemm.Multiply(a, b, c, s.M, s.N, s.K, s.TransposeA, s.TransposeB));
        }
    }

    static float[] Random(long length, int seed)
    {
        var random = new Random(seed);
        var x = GC.AllocateUninitializedArray<float>(checked((int)length));
        for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle() * 2 - 1;
        return x;
    }
}
