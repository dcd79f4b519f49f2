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
            var model = CharModel.Load(path);
            if (parsed.GetValue(context) is < 1 and var c) throw new UsageException($"--context must be at least 1, got {c}.");
            string dataPath = parsed.GetValue(data) is { } given ? given : TrainingData.ForCheckpoint(path, cancellation);
            var result = model.EvaluateFile(dataPath, parsed.GetValue(context), parsed.GetValue(batch));

            if (parsed.GetValue(json))
            {
                using var writer = new Utf8JsonWriter(Console.OpenStandardOutput());
                writer.WriteStartObject();
                writer.WriteString("checkpoint", path);
                writer.WriteString("data", dataPath);
                writer.WriteNumber("context", result.Context);
                writer.WriteNumber("windows", result.Windows);
                writer.WriteNumber("positions", result.Positions);
                writer.WriteNumber("val_loss", result.ValidationLoss);
                writer.WriteNumber("bpc", result.BitsPerCharacter);
                if (result.StreamingLoss is { } streaming)
                {
                    writer.WriteNumber("streaming_val_loss", streaming);
                    writer.WriteNumber("streaming_bpc", result.StreamingBitsPerCharacter!.Value);
                }
                writer.WriteEndObject();
                writer.Flush();
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine($"model            {TrainingRun.Describe(model.Config)} ({path})");
                Console.WriteLine($"data             {dataPath}: validation split of {result.Windows.ToString("N0", CultureInfo.InvariantCulture)} windows of {result.Context}");
                Console.WriteLine($"validation loss  {result.ValidationLoss:F4} nats/char, {result.BitsPerCharacter:F4} bits/char (each window from h0 = 0)");
                if (result.StreamingLoss is { } streaming)
                    Console.WriteLine($"streaming loss   {streaming:F4} nats/char, {result.StreamingBitsPerCharacter:F4} bits/char (whole split as one sequence, state carried)");
            }
            return Task.FromResult(0);
        });
        return command;
    }
}
