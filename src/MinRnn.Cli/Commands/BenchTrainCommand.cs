using System.CommandLine;
using System.Globalization;
using MinRnn.Cli.Bench;
using MinRnn.Cli.Training;
using MinRnn.Distributed;
using MinRnn.Kernels;
using MinRnn.Layers;
using MinRnn.Training;
using Spectre.Console;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn bench train [--steps N] [--threads N] [--preset NAME]... [--breakdown] [--json]</c>: training throughput and MFU
/// of the presets with each cell they take; with <c>--breakdown</c>, each kernel's time per step and share of the step.
/// Under <c>mpirun -np N</c> the ranks train each batch together, as <c>minrnn train</c> does (the breakdown then has a
/// row for the all-reduce of the gradients), and rank 0 reports for the job.
/// </summary>
internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var steps = IntOption.InRange("--steps", "Timed training steps per configuration (after 2 warm-up steps); the median is reported.", 5, 1, 1000);
        var threads = IntOption.InRange("--threads", "Threads to train with.", Parallelism.Threads, 1, 256);
        var presets = new Option<string[]>("--preset") { Description = "Presets to measure (repeatable). Default: seed, paper, gpt and mamba.", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };
        var breakdown = new Option<bool>("--breakdown") { Description = "Also time every kernel over as many further steps: time per step, share of the step, GFLOP/s of the products." };
        var command = new Command("train", "Training throughput (characters/s) and model FLOP utilisation of the presets: minGRU and minLSTM, and GRU and LSTM with the plain presets.");
        foreach (var option in new Option[] { steps, threads, presets, breakdown, json }) command.Options.Add(option);
        command.SetAction(parsed =>
        {
            var chosen = (parsed.GetValue(presets) is { Length: > 0 } names ? names : [Preset.Seed.Name, Preset.Paper.Name, Preset.Gpt.Name, Preset.Mamba.Name])
                .Select(n => Preset.Find(n) ?? throw new UsageException($"unknown preset '{n}'; choose from {string.Join(", ", Preset.All.Select(p => p.Name))}.")).ToArray();
            int n = parsed.GetValue(threads);
            // Under mpirun every rank trains its share of each batch, as minrnn train does, and rank 0 alone prints.
            using var group = ProcessGroup.FromEnvironment();
            var environment = BenchEnvironment.Capture(n);
            // The ranks measure their peaks at the same time, on the cores they share, so the sum is the job's peak.
            Span<double> peak = [Enumerable.Range(0, 3).Max(_ => FmaPeak.MeasureGflops(n, TimeSpan.FromMilliseconds(200)))];
            group.Sum(peak);
            var results = TrainBench.Run(chosen, Enum.GetValues<RecurrentCell>(), n, parsed.GetValue(steps), peak[0], parsed.GetValue(breakdown), group).ToList();
            if (!group.IsFirst) return 0;
            if (parsed.GetValue(json)) WriteJson(environment, group.Size, peak[0], results);
            else WriteTable(environment, group.Size, peak[0], parsed.GetValue(steps), results);
            return 0;
        });
        return command;
    }

    static void WriteTable(BenchEnvironment env, int ranks, double peak, int steps, IReadOnlyList<TrainBench.Result> results)
    {
        Console.WriteLine($"date     {env.Date:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"cpu      {env.Cpu}, {(ranks > 1 ? $"{ranks} ranks × " : "")}{env.Threads} threads, {env.Simd}; FMA peak {peak:F0} GFLOP/s");
        Console.WriteLine($"timing   median of {steps} steps after 2 warm-up steps; MFU counts 6 FLOPs per token per weight the step multiplies by (not layer 0 of a plain model, folded into a table), the transformer's causal attention products, 6·T·D per layer, and mamba's scan multiply-adds, 18·d_inner·N per layer");
        var table = new Table().AddColumns("preset", "cell", "parameters", "step ms", "chars/s", "GFLOP/s", "MFU", "peak memory");
        foreach (var r in results)
            table.AddRow(r.Preset, r.Cell, r.Parameters.ToString("N0", CultureInfo.InvariantCulture), r.StepMilliseconds.ToString("F0", CultureInfo.InvariantCulture),
                r.TokensPerSecond.ToString("N0", CultureInfo.InvariantCulture), r.Gflops.ToString("F0", CultureInfo.InvariantCulture),
                $"{r.PercentOfPeak.ToString("F0", CultureInfo.InvariantCulture)}%", MemoryEstimate.Format(r.PeakBytes));
        BenchOutput.Write(table, 160);
        foreach (var r in results.Where(r => r.Breakdown is not null))
        {
            var b = r.Breakdown!;
            Console.WriteLine();
            Console.WriteLine($"{r.Preset}, {r.Cell}: kernels per step, over {b.Units} profiled steps (median step {b.UnitMilliseconds:F0} ms)");
            b.WriteTable();
        }
    }

    static void WriteJson(BenchEnvironment env, int ranks, double peak, IReadOnlyList<TrainBench.Result> results)
    {
        var writer = BenchOutput.StartJson(env, peak);
        writer.WriteNumber("ranks", ranks);
        writer.WriteStartArray("results");
        foreach (var r in results)
        {
            writer.WriteStartObject();
            writer.WriteString("preset", r.Preset);
            writer.WriteString("cell", r.Cell);
            writer.WriteNumber("parameters", r.Parameters);
            writer.WriteNumber("step_ms", r.StepMilliseconds);
            writer.WriteNumber("tokens_per_s", r.TokensPerSecond);
            writer.WriteNumber("gflops", r.Gflops);
            writer.WriteNumber("mfu_percent", r.PercentOfPeak);
            writer.WriteNumber("peak_bytes", r.PeakBytes);
            if (r.Breakdown is { } b)
            {
                writer.WriteNumber("profiled_step_ms", b.UnitMilliseconds);
                writer.WriteStartArray("breakdown");
                foreach (var row in b.Rows())
                {
                    writer.WriteStartObject();
                    writer.WriteString("operation", row.Name);
                    writer.WriteNumber("calls_per_step", row.Calls);
                    writer.WriteNumber("ms_per_step", row.Milliseconds);
                    writer.WriteNumber("share_percent", row.Percent);
                    if (row.Gflops is { } g) writer.WriteNumber("gflops", g);
                    if (row.GigabytesPerSecond is { } gb) writer.WriteNumber("gb_per_s", gb);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        BenchOutput.EndJson(writer);
    }
}
