using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MinRnn.Cli.Bench;
using MinRnn.Cli.Training;
using MinRnn.Data;
using MinRnn.Generation;
using MinRnn.Kernels;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn bench generate [--checkpoint FILE | --preset NAME] [--threads N] [--characters N]</c>: generation speed for one
/// stream and for 16 batched streams, each on one and on N threads, and the process's memory after
/// 1k and after N characters. Each speed is the median of seven timed rounds after a second of warm-up
/// (long enough for the JIT's tiered compilation to settle). With <c>--context N</c> (repeatable) it measures instead one
/// stream with N characters of context, on one and on N threads (the median of a second of timed rounds), and the state each stream holds there; a preset's transformer is
/// built with a block of N, so that it attends over all N characters; <c>--breakdown</c> adds each kernel's time per character.
/// </summary>
internal static class BenchGenerateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Model to generate with. Default: the seed preset's model (plain minGRU 3 x 384), freshly initialised." };
        var preset = new Option<string?>("--preset") { Description = "Generate with a freshly initialised model of this preset instead (speed does not depend on the weights)." };
        var contexts = new Option<int[]>("--context") { Description = "Measure one stream on 1 and on --threads threads with this many characters of context (repeatable; at least 2)." };
        var threads = IntOption.InRange("--threads", "Threads for the second one-stream and 16-stream runs (and --context's). Default: all processors.", Environment.ProcessorCount, 1, 256);
        var breakdown = new Option<bool>("--breakdown") { Description = "With --context: also time every kernel over further characters: time per character, share, GFLOP/s and GB/s." };
        var characters = IntOption.InRange("--characters", "Characters of the long single-stream run (memory after it is reported).", 1_000_000, 1_000, int.MaxValue);
        var command = new Command("generate", "Characters per second for 1 stream and 16 streams on 1 and N threads, and memory after 1k and after many characters.");
        foreach (var option in new Option[] { checkpoint, preset, threads, characters, contexts, breakdown }) command.Options.Add(option);
        command.SetAction(parsed =>
        {
            int manyThreads = parsed.GetValue(threads);
            int[] contextLengths = parsed.GetValue(contexts) ?? [];
            foreach (int context in contextLengths)
                if (context < 2) throw new UsageException($"--context must be at least 2 characters, got {context}.");
            if (parsed.GetValue(checkpoint) is not null && parsed.GetValue(preset) is not null)
                throw new UsageException("give --checkpoint or --preset, not both.");
            if (parsed.GetValue(breakdown) && contextLengths.Length == 0)
                throw new UsageException("--breakdown times the one-stream runs of --context; give --context too.");
            Preset? chosen = null;
            if (parsed.GetValue(preset) is { } name)
                chosen = Preset.Find(name) ?? throw new UsageException($"unknown preset '{name}'; choose one of {string.Join(", ", Preset.All.Select(p => p.Name))}.");
            LanguageModel model;
            Vocabulary vocabulary;
            if (parsed.GetValue(checkpoint) is { } path)
            {
                var loaded = Checkpoint.Load(path);
                (model, vocabulary) = (loaded.Model, loaded.RequireVocabulary());
            }
            else (model, vocabulary) = GenerationBench.FreshModel((chosen ?? Preset.Seed).Model);
            var environment = BenchEnvironment.Capture(manyThreads);
            Console.WriteLine($"date     {environment.Date:yyyy-MM-dd HH:mm} UTC");
            Console.WriteLine($"cpu      {environment.Cpu}, {environment.Simd}");
            Console.WriteLine($"model    {TrainingRun.Describe(model.Config)}, {model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters");
            if (contextLengths.Length > 0)
            {
                foreach (int context in contextLengths)
                {
                    var measured = chosen is not null && model.Config.Architecture == Architecture.Transformer
                        ? GenerationBench.FreshModel(model.Config with { BlockSize = context }).Model
                        : model;
                    foreach (int threadCount in manyThreads == 1 ? [1] : new[] { 1, manyThreads })
                    {
                        Parallelism.Threads = threadCount;
                        var (rate, bytes, profile) = GenerationBench.AtContext(measured, vocabulary, context, parsed.GetValue(breakdown));
                        Console.WriteLine($"context {context.ToString("N0", CultureInfo.InvariantCulture)}: 1 stream on {threadCount} thread{(threadCount == 1 ? "" : "s")}: " +
                                          $"{rate.ToString("N0", CultureInfo.InvariantCulture)} characters/s, state per stream {MemoryEstimate.Format(bytes)}");
                        if (profile is null) continue;
                        Console.WriteLine($"kernels per character, over {profile.Units} profiled characters (median {profile.UnitMilliseconds * 1e3:F1} µs)");
                        profile.WriteTable(microseconds: true);
                    }
                }
                return 0;
            }
            string prompt = vocabulary[0].ToString();
            foreach (var (streams, threadCount) in new[] { (1, 1), (1, manyThreads), (16, 1), (16, manyThreads) })
            {
                Parallelism.Threads = threadCount;
                double rate = GenerationBench.CharactersPerSecond(model, vocabulary, prompt, streams);
                Console.WriteLine($"{streams,2} stream{(streams == 1 ? " " : "s")} on {threadCount} thread{(threadCount == 1 ? " " : "s")}: " +
                                  $"{rate.ToString("N0", CultureInfo.InvariantCulture)} characters/s in total");
            }
            Parallelism.Threads = 1;
            var single = new Generator(model, vocabulary, new SamplingOptions { Seed = 2 });
            single.Prefill(prompt);
            var one = new string[1];
            int total = parsed.GetValue(characters);
            for (int i = 0; i < 1_000; i++) single.Step(one);
            Report("after 1,000 characters", single);
            for (int i = 1_000; i < total; i++) single.Step(one);
            Report($"after {total.ToString("N0", CultureInfo.InvariantCulture)} characters", single);
            return 0;
        });
        return command;
    }

    static void Report(string when, Generator generator)
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"memory {when}: managed heap {MemoryEstimate.Format(managed)}, working set {MemoryEstimate.Format(process.WorkingSet64)}, " +
                          $"peak working set {MemoryEstimate.Format(process.PeakWorkingSet64)}, recurrent state {MemoryEstimate.Format(generator.State.Floats * sizeof(float))}");
    }
}
