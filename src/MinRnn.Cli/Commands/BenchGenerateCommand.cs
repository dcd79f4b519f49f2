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
/// <c>minrnn bench generate [--checkpoint FILE] [--threads N] [--characters N]</c>: generation speed for one
/// stream and for 16 batched streams, and the process's memory after 1k and after N characters.
/// </summary>
internal static class BenchGenerateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Model to generate with. Default: the seed preset's model (plain minGRU 3 x 384), freshly initialised." };
        var threads = IntOption.InRange("--threads", "Threads to generate with.", 1, 1, 256);
        var characters = IntOption.InRange("--characters", "Characters of the long single-stream run (memory after it is reported).", 1_000_000, 1_000, int.MaxValue);
        var command = new Command("generate", "Characters per second for 1 and 16 streams, and memory after 1k and after many characters.");
        foreach (var option in new Option[] { checkpoint, threads, characters }) command.Options.Add(option);
        command.SetAction(parsed =>
        {
            Parallelism.Threads = parsed.GetValue(threads);
            LanguageModel model;
            Vocabulary vocabulary;
            if (parsed.GetValue(checkpoint) is { } path)
            {
                var loaded = Checkpoint.Load(path);
                (model, vocabulary) = (loaded.Model, loaded.Vocabulary);
            }
            else
            {
                vocabulary = Vocabulary.FromText(string.Concat(Enumerable.Range(0, 65).Select(i => (char)(' ' + i))));
                model = LanguageModel.Create(Preset.Seed.Model with { VocabularySize = vocabulary.Count });
                model.Initialize(1);
            }
            var environment = BenchEnvironment.Capture(Parallelism.Threads);
            Console.WriteLine($"date     {environment.Date:yyyy-MM-dd HH:mm} UTC");
            Console.WriteLine($"cpu      {environment.Cpu}, {Parallelism.Threads} thread(s), {environment.Simd}");
            Console.WriteLine($"model    {TrainingRun.Describe(model.Config)}, {model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters");
            string prompt = vocabulary[0].ToString();
            foreach (int streams in new[] { 1, 16 })
            {
                var generator = new Generator(model, vocabulary, new SamplingOptions(), 1, streams);
                generator.Prefill(prompt);
                var output = new string[streams];
                for (int i = 0; i < 200; i++) generator.Step(output);
                int steps = streams == 1 ? 5_000 : 1_000;
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < steps; i++) generator.Step(output);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                Console.WriteLine($"{streams,2} stream{(streams == 1 ? " " : "s")}: {(steps * streams / seconds).ToString("N0", CultureInfo.InvariantCulture)} characters/s in total");
            }
            var single = new Generator(model, vocabulary, new SamplingOptions(), 2);
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
