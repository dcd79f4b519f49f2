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
/// <c>minrnn eval --checkpoint FILE [--data FILE] [--json]</c>: spec §4's validation loss, bits per character and
/// accuracy of a character model, plus the streaming loss (the whole validation split as one sequence); for a model of
/// a task, the loss and accuracy on the task's validation set, which the checkpoint's metadata rebuilds.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Validation loss (spec §4), bits per character and accuracy of a checkpoint; a task's model on the task's validation set.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A model file written by minrnn train.", Required = true };
        var data = new Option<string?>("--data") { Description = "UTF-8 text whose last 10% is the validation split. Default: the data the checkpoint's run was trained on (run.json beside it), else Tiny Shakespeare." };
        var context = new Option<int?>("--context") { Description = "Window length C. Default: the context the checkpoint was trained with." };
        var batch = IntOption.InRange("--batch", "Windows (sequences) evaluated at once.", 64, 1, 4096);
        var threads = IntOption.InRange("--threads", "Threads to use.", Parallelism.Threads, 1, 256);
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        foreach (var option in new Option[] { checkpoint, data, context, batch, threads, json }) command.Options.Add(option);

        command.SetAction((parsed, cancellation) =>
        {
            Parallelism.Threads = parsed.GetValue(threads);
            string path = parsed.GetValue(checkpoint)!;
            if (parsed.GetValue(context) is < 1 and var c) throw new UsageException($"--context must be at least 1, got {c}.");
            var loaded = Checkpoint.Load(path);
            if (loaded.Task is { } task)
            {
                if (parsed.GetValue(data) is not null || parsed.GetValue(context) is not null)
                    throw new UsageException($"{Path.GetFileName(path)} holds a model of the {task.Description} task, scored on the task's own validation set: --data and --context do not apply.");
                EvaluateTask(path, loaded.Model, task, parsed.GetValue(batch), parsed.GetValue(json));
                return Task.FromResult(0);
            }
            var model = CharModel.FromCheckpoint(loaded);
            string dataPath = parsed.GetValue(data) is { } given ? given : TrainingData.ForCheckpoint(path, cancellation);
            var result = model.EvaluateFile(dataPath, parsed.GetValue(context), parsed.GetValue(batch));

            if (parsed.GetValue(json))
            {
                WriteJson(writer =>
                {
                    writer.WriteString("checkpoint", path);
                    writer.WriteString("data", dataPath);
                    writer.WriteNumber("context", result.Context);
                    writer.WriteNumber("windows", result.Windows);
                    writer.WriteNumber("positions", result.Positions);
                    writer.WriteNumber("val_loss", result.ValidationLoss);
                    writer.WriteNumber("bpc", result.BitsPerCharacter);
                    writer.WriteNumber("val_accuracy", result.ValidationAccuracy);
                    if (result.StreamingLoss is { } streaming)
                    {
                        writer.WriteNumber("streaming_val_loss", streaming);
                        writer.WriteNumber("streaming_bpc", result.StreamingBitsPerCharacter!.Value);
                    }
                });
            }
            else
            {
                Console.WriteLine($"model            {TrainingRun.Describe(model.Config)} ({path})");
                Console.WriteLine($"data             {dataPath}: validation split of {result.Windows.ToString("N0", CultureInfo.InvariantCulture)} windows of {result.Context}");
                Console.WriteLine($"validation loss  {result.ValidationLoss:F4} nats/char, {result.BitsPerCharacter:F4} bits/char (each window from h0 = 0)");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy         {100 * result.ValidationAccuracy:F2}% of the characters were the model's most likely one"));
                if (result.StreamingLoss is { } streaming)
                    Console.WriteLine($"streaming loss   {streaming:F4} nats/char, {result.StreamingBitsPerCharacter:F4} bits/char (whole split as one sequence, state carried)");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Scores a task's model on the task's fixed validation set, at the scored positions (the markers).</summary>
    static void EvaluateTask(string path, LanguageModel model, SelectiveCopyTask task, int batch, bool json)
    {
        var validation = new SelectiveCopyValidation(task);
        var score = Evaluator.Validate(model, validation, batch);
        if (json)
        {
            WriteJson(writer =>
            {
                writer.WriteString("checkpoint", path);
                writer.WriteString("task", SelectiveCopyTask.TaskName);
                writer.WriteNumber("copy_length", task.Length);
                writer.WriteNumber("copy_tokens", task.Tokens);
                writer.WriteNumber("vocab", task.VocabularySize);
                writer.WriteNumber("sequences", validation.Count);
                writer.WriteNumber("positions", validation.Positions);
                writer.WriteNumber("val_loss", score.Loss);
                writer.WriteNumber("val_accuracy", score.Accuracy);
            });
            return;
        }
        Console.WriteLine($"model            {TrainingRun.Describe(model.Config)} ({path})");
        Console.WriteLine($"task             {task.Description}: validation set of {validation.Count.ToString("N0", CultureInfo.InvariantCulture)} sequences, " +
                          $"{validation.Positions.ToString("N0", CultureInfo.InvariantCulture)} tokens to recall");
        Console.WriteLine($"validation loss  {score.Loss:F4} nats per recalled token");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy         {100 * score.Accuracy:F2}% of the tokens recalled"));
    }

    /// <summary>Prints one JSON object, written by <paramref name="body"/>, and a newline.</summary>
    static void WriteJson(Action<Utf8JsonWriter> body)
    {
        using (var writer = new Utf8JsonWriter(Console.OpenStandardOutput()))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        Console.WriteLine();
    }
}
