// Trains a small minGRU language model in code, with progress, then samples from it and saves it.
// Usage: TrainInCode [TEXT-FILE] [OUT.safetensors]   (without a file, it trains on the sonnet below)
using MinRnn;

const string Sonnet = """
    Shall I compare thee to a summer's day?
    Thou art more lovely and more temperate:
    Rough winds do shake the darling buds of May,
    And summer's lease hath all too short a date;
    Sometime too hot the eye of heaven shines,
    And often is his gold complexion dimm'd;
    And every fair from fair sometime declines,
    By chance or nature's changing course untrimm'd;
    But thy eternal summer shall not fade,
    Nor lose possession of that fair thou ow'st;
    Nor shall death brag thou wander'st in his shade,
    When in eternal lines to time thou grow'st:
    So long as men can breathe or eyes can see,
    So long lives this, and this gives life to thee.

    """;

try
{
    string text = args.Length > 0 ? File.ReadAllText(args[0]) : string.Concat(Enumerable.Repeat(Sonnet, 20));
    string output = args.Length > 1 ? args[1] : "sample-model.safetensors";

    // A small residual minGRU: the quick preset's block at a quarter of its width.
    var config = Preset.Quick.Model with { Dim = 64, Layers = 2 };
    var options = Preset.Quick.Training with { Batch = 16, Context = 64, Steps = 300, WarmupSteps = 30, EvalEvery = 100 };
    var model = CharModel.Create(config, text, options.Seed);
    Console.WriteLine($"{model.ParameterCount:N0} parameters, {model.Characters.Length} characters in the vocabulary");

    var result = model.Train(text, options, new ConsoleProgress());
    Console.WriteLine($"best validation loss {result.BestValidationLoss:F3} at step {result.BestStep}, in {result.Elapsed.TotalSeconds:F1} s");

    string prompt = text[..(char.IsHighSurrogate(text[0]) ? 2 : 1)];
    Console.Write(prompt);
    foreach (string character in model.Generate(prompt, 200, new SamplingOptions { Temperature = 0.7 }))
        Console.Write(character);
    Console.WriteLine();
    model.Save(output);
    Console.WriteLine($"saved {output}");
    return 0;
}
catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"TrainInCode: {e.Message}");
    return 1;
}

/// <summary>Prints every 50th step and every evaluation, on the training thread, in order.</summary>
sealed class ConsoleProgress : IProgress<TrainingReport>
{
    public void Report(TrainingReport report)
    {
        if (report is StepReport { Step: var step } s && step % 50 == 0)
            Console.WriteLine($"step {step,3}/{s.TotalSteps}  train loss {s.TrainLoss:F3}  {s.TokensPerSecond:N0} characters/s");
        else if (report is EvalReport e)
            Console.WriteLine($"step {e.Step,3}  validation loss {e.ValidationLoss:F3}{(e.IsBest ? "  (best)" : "")}");
    }
}
