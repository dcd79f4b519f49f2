using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MinRnn.Cli.Training;
using MinRnn.Data;
using MinRnn.Kernels;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn eval --checkpoint FILE [--data FILE] [--json]</c>: spec §4's validation loss and bits per
/// character of a checkpoint, plus the streaming loss (the whole validation split as one sequence).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Validation loss (spec §4) and bits per character of a checkpoint.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A model file written by minrnn train.", Required = true };
        var data = new Option<string?>("--data") { Description = "UTF-8 text whose last 10% is the validation split. Default: the data the checkpoint's run was trained on (run.json beside it), else Tiny Shakespeare." };
        var context = new Option<int?>("--context") { Description = "Window length C. Default: the context the checkpoint was trained with." };
        var batch = IntOption.InRange("--batch", "Windows evaluated at once.", 64, 1, 4096);
        var threads = IntOption.InRange("--threads", "Threads to use.", Parallelism.Threads, 1, 256);
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        foreach (var option in new Option[] { checkpoint, data, context, batch, threads, json }) command.Options.Add(option);

        command.SetAction((parsed, cancellation) =>
        {
            Parallelism.Threads = parsed.GetValue(threads);
            string path = parsed.GetValue(checkpoint)!;
            var loaded = Checkpoint.Load(path);
            int c = parsed.GetValue(context) ?? loaded.GetInt("context") ?? Preset.Quick.Training.Context;
            if (c < 1) throw new UsageException($"--context must be at least 1, got {c}.");

            string dataPath = parsed.GetValue(data) is { } given ? given : TrainingData.ForCheckpoint(path, cancellation);
            var corpus = CharCorpus.Load(dataPath);
            var validation = ModelTokens(corpus, loaded.Vocabulary);
            var windows = new ValidationWindows(validation, c);
            double loss = Evaluator.ValidationLoss(loaded.Model, windows, parsed.GetValue(batch));
            double streaming = Evaluator.StreamingLoss(loaded.Model, validation);

            if (parsed.GetValue(json))
            {
                using var writer = new Utf8JsonWriter(Console.OpenStandardOutput());
                writer.WriteStartObject();
                writer.WriteString("checkpoint", path);
                writer.WriteString("data", corpus.Source);
                writer.WriteNumber("context", c);
                writer.WriteNumber("windows", windows.Count);
                writer.WriteNumber("positions", windows.Positions);
                writer.WriteNumber("val_loss", loss);
                writer.WriteNumber("bpc", loss / Math.Log(2));
                writer.WriteNumber("streaming_val_loss", streaming);
                writer.WriteNumber("streaming_bpc", streaming / Math.Log(2));
                writer.WriteEndObject();
                writer.Flush();
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine($"model            {TrainingRun.Describe(loaded.Model.Config)} ({path})");
                Console.WriteLine($"data             {corpus.Source}: validation split {validation.Length.ToString("N0", CultureInfo.InvariantCulture)} characters");
                Console.WriteLine($"validation loss  {loss:F4} nats/char, {loss / Math.Log(2):F4} bits/char ({windows.Count} windows of {c}, each from h0 = 0)");
                Console.WriteLine($"streaming loss   {streaming:F4} nats/char, {streaming / Math.Log(2):F4} bits/char (whole split as one sequence, state carried)");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The validation split in the model's token ids (the corpus may number its characters differently).</summary>
    static ReadOnlyMemory<int> ModelTokens(CharCorpus corpus, Vocabulary vocabulary)
    {
        if (corpus.Vocabulary.Characters == vocabulary.Characters) return corpus.Validation;
        try { return vocabulary.Encode(corpus.Vocabulary.Decode(corpus.Validation.Span)); }
        catch (ArgumentException e) { throw new InvalidDataException($"the data does not fit the checkpoint's vocabulary: {e.Message}"); }
    }
}
