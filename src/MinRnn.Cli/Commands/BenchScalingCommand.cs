using System.CommandLine;
using System.Globalization;
using MinRnn.Cli.Bench;
using MinRnn.Cli.Training;
using MinRnn.Kernels;
using MinRnn.Layers;
using MinRnn.Model;
using Spectre.Console;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn bench scaling [--cell NAME]... [--lengths N,...] [--dim D] [--layers L] [--batch B] [--threads N] [--plot FILE] [--json]</c>:
/// training step time and memory of the minimal and the classic cells over sequence length (the paper's Figure 1).
/// </summary>
internal static class BenchScalingCommand
{
    static readonly int[] DefaultLengths = [64, 128, 256, 512, 1024, 2048, 4096];

    public static Command Create()
    {
        var cells = new Option<string[]>("--cell") { Description = "Cells to measure (repeatable). Default: mingru, minlstm, gru, lstm.", AllowMultipleArgumentsPerToken = true };
        var lengths = new Option<string?>("--lengths") { Description = "Comma-separated sequence lengths. Default: 64,128,256,512,1024,2048,4096." };
        var dim = IntOption.InRange("--dim", "Model width D (= H).", 128, 1, 65536);
        var layers = IntOption.InRange("--layers", "Layers.", 3, 1, 1024);
        var batch = IntOption.InRange("--batch", "Sequences per step.", 64, 1, 65536);
        var threads = IntOption.InRange("--threads", "Threads to train with.", Parallelism.Threads, 1, 256);
        var plot = new Option<string?>("--plot") { Description = "Where to write the log-log PNG. Default: scaling.png." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };
        var command = new Command("scaling", "Training step time and memory of minGRU, minLSTM, GRU and LSTM over sequence length.");
        foreach (var option in new Option[] { cells, lengths, dim, layers, batch, threads, plot, json }) command.Options.Add(option);
        command.SetAction(parsed =>
        {
            var chosen = (parsed.GetValue(cells) is { Length: > 0 } names ? names : ["mingru", "minlstm", "gru", "lstm"])
                .Select(n => RecurrentCells.Parse(n) ?? throw new UsageException($"unknown cell '{n}'; choose from mingru, minlstm, gru, lstm.")).Distinct().ToArray();
            int[] chosenLengths = parsed.GetValue(lengths) is { } text ? ParseLengths(text) : DefaultLengths;
            int d = parsed.GetValue(dim), l = parsed.GetValue(layers), b = parsed.GetValue(batch);
            RefuseWhatMemoryCannotHold(chosen, chosenLengths, d, l, b);
            Parallelism.Threads = parsed.GetValue(threads);
            var environment = BenchEnvironment.Capture(Parallelism.Threads);
            double peak = Enumerable.Range(0, 3).Max(_ => FmaPeak.MeasureGflops(Parallelism.Threads, TimeSpan.FromMilliseconds(200)));
            var points = ScalingBench.Run(chosen, chosenLengths, d, l, b).ToList();
            string plotPath = parsed.GetValue(plot) ?? "scaling.png";
            ScalingPlot.Save(plotPath, $"Training step vs length: D={d}, {l} layer{(l == 1 ? "" : "s")}, batch {b}, {environment.Threads} thread{(environment.Threads == 1 ? "" : "s")}", points);
            if (parsed.GetValue(json)) WriteJson(environment, peak, d, l, b, points);
            else WriteTable(environment, peak, d, l, b, points, plotPath);
            return 0;
        });
        return command;
    }

    static int[] ParseLengths(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1 ? v
            : throw new UsageException($"--lengths must be positive integers separated by commas, got '{p}'.")).ToArray();
        return values.Length > 0 ? values : throw new UsageException("--lengths is empty.");
    }

    /// <summary>Each configuration's estimated peak against the memory this process may use, before anything is allocated.</summary>
    static void RefuseWhatMemoryCannotHold(IEnumerable<RecurrentCell> cells, IEnumerable<int> lengths, int dim, int layers, int batch)
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        foreach (var cell in cells)
        foreach (int length in lengths)
        {
            var config = ScalingBench.Config(cell, dim, layers);
            // The parameters alone first, from the configuration, so that an oversized model is never allocated.
            long need = 2 * sizeof(float) * config.ParameterCount();
            if (need <= available) need = LanguageModel.Create(config).EstimateTrainingBytes(batch, length);
            if (need > available)
                throw new UsageException($"{cell.DisplayName()} at length {length} needs about {MemoryEstimate.Format(need)}, more than the {MemoryEstimate.Format(available)} available; use a smaller --batch, --dim or --lengths.");
        }
    }

    static void WriteTable(BenchEnvironment env, double peak, int dim, int layers, int batch, IReadOnlyList<ScalingBench.Point> points, string plotPath)
    {
        Console.WriteLine($"date     {env.Date:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"cpu      {env.Cpu}, {env.Threads} threads, {env.Simd}; FMA peak {peak:F0} GFLOP/s");
        Console.WriteLine($"model    plain, D=H={dim}, {layers} layers, vocabulary 65, batch {batch}; one step = forward, cross-entropy, backward");
        Console.WriteLine($"memory   managed memory held after a step (parameters, gradients, activations); MFU counts 6 FLOPs per token per weight the step multiplies by (layer 0 is folded into a table)");
        var cells = points.Select(p => p.Cell).Distinct().ToArray();
        var table = new Table().AddColumn("length");
        foreach (var cell in cells) table.AddColumn($"{cell.DisplayName()} ms (MFU, memory)");
        foreach (var (minimal, classic) in new[] { (RecurrentCell.MinGru, RecurrentCell.Gru), (RecurrentCell.MinLstm, RecurrentCell.Lstm) })
            if (cells.Contains(minimal) && cells.Contains(classic)) table.AddColumn($"{classic.DisplayName()} / {minimal.DisplayName()}");
        foreach (var group in points.GroupBy(p => p.Length))
        {
            var row = new List<string> { group.Key.ToString(CultureInfo.InvariantCulture) };
            foreach (var cell in cells)
            {
                var p = group.Single(q => q.Cell == cell);
                row.Add($"{p.StepMilliseconds.ToString("F1", CultureInfo.InvariantCulture)} ({(100 * p.Gflops / peak).ToString("F0", CultureInfo.InvariantCulture)}%, {MemoryEstimate.Format(p.Bytes)})");
            }
            foreach (var (minimal, classic) in new[] { (RecurrentCell.MinGru, RecurrentCell.Gru), (RecurrentCell.MinLstm, RecurrentCell.Lstm) })
                if (cells.Contains(minimal) && cells.Contains(classic))
                    row.Add($"{(group.Single(q => q.Cell == classic).StepMilliseconds / group.Single(q => q.Cell == minimal).StepMilliseconds).ToString("F1", CultureInfo.InvariantCulture)}x");
            table.AddRow([.. row]);
        }
        BenchOutput.Write(table, 200);
        Console.WriteLine($"plot     {plotPath}");
    }

    static void WriteJson(BenchEnvironment env, double peak, int dim, int layers, int batch, IReadOnlyList<ScalingBench.Point> points)
    {
        var writer = BenchOutput.StartJson(env, peak);
        writer.WriteNumber("dim", dim);
        writer.WriteNumber("layers", layers);
        writer.WriteNumber("batch", batch);
        writer.WriteStartArray("results");
        foreach (var p in points)
        {
            writer.WriteStartObject();
            writer.WriteString("cell", p.Cell.Name());
            writer.WriteNumber("length", p.Length);
            writer.WriteNumber("step_ms", p.StepMilliseconds);
            writer.WriteNumber("timed_steps", p.TimedSteps);
            writer.WriteNumber("mfu_percent", 100 * p.Gflops / peak);
            writer.WriteNumber("memory_bytes", p.Bytes);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        BenchOutput.EndJson(writer);
    }
}
