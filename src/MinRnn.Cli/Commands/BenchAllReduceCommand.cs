using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MinRnn.Cli.Bench;
using MinRnn.Distributed;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>mpirun -np N minrnn bench allreduce [--floats N]...</c>: the time to sum a float buffer across the ranks, as data-parallel
/// training sums its gradients every step, at the gradient sizes of the seed and paper presets and a few others. Rank 0 prints,
/// per size, the median of 20 timed reductions (after 3 untimed, each after a barrier), the algorithm bandwidth (bytes / time)
/// and the bus bandwidth (2 (N - 1) / N · bytes / time, what each rank's link carries in a ring all-reduce).
/// </summary>
internal static class BenchAllReduceCommand
{
    public static Command Create()
    {
        var floats = new Option<int[]>("--floats") { Description = "Buffer sizes in floats (repeatable). Default: 1k, 64k, the seed preset's 937,025 and the paper preset's 6,263,105 gradients." };
        var command = new Command("allreduce", "Time of summing a gradient buffer across the ranks of mpirun (run it under mpirun -np N).");
        command.Options.Add(floats);
        command.SetAction(parsed =>
        {
            int[] sizes = parsed.GetValue(floats) is { Length: > 0 } given ? given : [1_024, 65_536, 937_025, 6_263_105];
            foreach (int size in sizes)
                if (size < 1) throw new UsageException($"--floats must be positive, got {size}.");
            using var group = ProcessGroup.FromEnvironment();
            if (!group.IsDistributed) throw new UsageException("bench allreduce needs several processes: run it as 'mpirun -np 2 minrnn bench allreduce'.");
            if (group.IsFirst) Console.WriteLine($"ranks    {group.Size}");
            foreach (int size in sizes)
            {
                var buffer = new float[size];
                var seconds = new double[20];
                for (int i = -3; i < seconds.Length; i++)
                {
                    buffer.AsSpan().Fill(1f);
                    group.Barrier();
                    long start = Stopwatch.GetTimestamp();
                    group.Sum(buffer);
                    if (i >= 0) seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
                if (buffer[^1] != group.Size) throw new InvalidOperationException($"the all-reduce summed to {buffer[^1]}, expected {group.Size}.");
                double median = BenchTimer.Median(seconds), bytes = (double)size * sizeof(float);
                if (group.IsFirst)
                    Console.WriteLine($"{size.ToString("N0", CultureInfo.InvariantCulture),11} floats: {median * 1e3,9:F3} ms, " +
                                      $"algorithm {bytes / median / 1e9,6:F2} GB/s, bus {2.0 * (group.Size - 1) / group.Size * bytes / median / 1e9,6:F2} GB/s");
            }
            return 0;
        });
        return command;
    }
}
