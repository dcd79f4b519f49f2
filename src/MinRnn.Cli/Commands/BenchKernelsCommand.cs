using System.CommandLine;
using MinRnn.Cli.Bench;
using MinRnn.Kernels;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn bench kernels [--threads N] [--json] [--repeat R]</c>: the rows of <see cref="KernelBench"/> (the FMA peak,
/// the read bandwidth over model-sized working sets, the GEMMs, layers, attention and selective scan at the training
/// shapes), at one thread and at N threads, as a table or as JSON.
/// </summary>
internal static class BenchKernelsCommand
{
    public static Command Create()
    {
        var threads = IntOption.InRange("--threads", "Threads for the multi-threaded runs.", Parallelism.Threads, 1, 256);
        var repeat = IntOption.InRange("--repeat", "Timed runs per measurement; the median is reported.", 7, 1, 1000);
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };

        var command = new Command("kernels", "FMA peak, read bandwidth, and GEMM, layer, attention and selective-scan speed at the training shapes.");
        command.Options.Add(threads);
        command.Options.Add(repeat);
        command.Options.Add(json);
        command.SetAction(parsed =>
        {
            var report = KernelBench.Run(new BenchRunner(parsed.GetValue(threads), parsed.GetValue(repeat)));
            if (parsed.GetValue(json)) BenchJson.Write(Console.Out, report);
            else BenchTable.Write(report);
            return 0;
        });
        return command;
    }
}
