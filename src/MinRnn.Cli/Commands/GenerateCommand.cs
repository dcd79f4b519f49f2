using System.CommandLine;
using System.Text;
using MinRnn.Kernels;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn generate --checkpoint FILE [--prompt TEXT | --prompt-file FILE] [--length N] [--temperature T]
/// [--top-k K] [--top-p P] [--seed N] [--num-samples N]</c>: prints characters as they are produced.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var command = new Command("generate", "Generate text from a checkpoint, one character at a time with constant memory.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A model file written by minrnn train.", Required = true };
        var prompt = new Option<string?>("--prompt") { Description = "Text to start from. Default: a newline (or the first character of the vocabulary)." };
        var promptFile = new Option<string?>("--prompt-file") { Description = "UTF-8 file whose text starts the generation." };
        var length = new Option<int>("--length") { Description = "Characters to generate per sample.", DefaultValueFactory = _ => 500 };
        var temperature = new Option<double>("--temperature") { Description = "Softmax temperature; 0 is greedy.", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the K most likely characters (0: all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Sample among the most likely characters whose probability reaches P, in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sampler; the same seed gives the same text.", DefaultValueFactory = _ => 1337 };
        var samples = IntOption.InRange("--num-samples", "Independent samples, generated as one batch of streams.", 1, 1, 4096);
        var threads = IntOption.InRange("--threads", "Threads to use: one stream's products are split between them. Default: all processors.", Parallelism.Threads, 1, 256);
        foreach (var option in new Option[] { checkpoint, prompt, promptFile, length, temperature, topK, topP, seed, samples, threads })
            command.Options.Add(option);

        command.SetAction((parsed, cancellation) =>
        {
            if (parsed.GetValue(prompt) is not null && parsed.GetValue(promptFile) is not null)
                throw new UsageException("give --prompt or --prompt-file, not both.");
            int count = parsed.GetValue(length);
            if (count < 0) throw new UsageException($"--length must be 0 or more, got {count}.");
            SamplingOptions sampling;
            try
            {
                sampling = new SamplingOptions
                {
                    Temperature = parsed.GetValue(temperature), TopK = parsed.GetValue(topK), TopP = parsed.GetValue(topP), Seed = parsed.GetValue(seed),
                }.Validated();
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            Parallelism.Threads = parsed.GetValue(threads);

            string path = parsed.GetValue(checkpoint)!;
            var model = CharModel.Load(path);
            string text = parsed.GetValue(promptFile) is { } file
                ? File.Exists(file) ? File.ReadAllText(file, new UTF8Encoding(false, throwOnInvalidBytes: true)) : throw new FileNotFoundException($"prompt file {file} does not exist.")
                : parsed.GetValue(prompt) ?? (model.Characters.Contains('\n') ? "\n" : model.Characters[..Rune.GetRuneAt(model.Characters, 0).Utf16SequenceLength]);
            if (text.Length == 0) throw new UsageException("the prompt is empty.");

            int streams = parsed.GetValue(samples);
            IEnumerable<IReadOnlyList<string>> steps;
            try { steps = model.GenerateBatch(Enumerable.Repeat(text, streams).ToArray(), count, sampling, cancellation); }
            catch (ArgumentException e) { throw new UsageException($"the prompt does not fit the checkpoint's vocabulary: {e.Message}"); }
            var output = Console.Out;
            if (streams == 1)
            {
                output.Write(text);
                foreach (var step in steps) output.Write(step[0]);
                output.WriteLine();
                return Task.FromResult(0);
            }
            var texts = Enumerable.Range(0, streams).Select(_ => new StringBuilder(text)).ToArray();
            foreach (var step in steps)
                for (int s = 0; s < streams; s++) texts[s].Append(step[s]);
            for (int s = 0; s < streams; s++) output.WriteLine($"--- sample {s + 1} ---\n{texts[s]}");
            return Task.FromResult(0);
        });
        return command;
    }
}
