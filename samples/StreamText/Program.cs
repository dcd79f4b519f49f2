// Loads a checkpoint (from `minrnn train` or CharModel.Save) and streams text to the console as it is generated.
// Usage: StreamText CHECKPOINT [PROMPT] [LENGTH]
using MinRnn;

if (args.Length is < 1 or > 3)
{
    Console.Error.WriteLine("usage: StreamText CHECKPOINT [PROMPT] [LENGTH]");
    return 2;
}
try
{
    var model = CharModel.Load(args[0]);
    string prompt = args.Length > 1 ? args[1] : "\n";
    int length = args.Length > 2 ? int.Parse(args[2]) : 500;
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

    Console.Write(prompt);
    var sampling = new SamplingOptions { Temperature = 0.8, TopK = 20, Seed = 7 };
    await foreach (string character in model.GenerateAsync(prompt, length, sampling, stop.Token))
        Console.Write(character);
    Console.WriteLine();
    return 0;
}
catch (Exception e) when (e is IOException or ArgumentException or FormatException or OperationCanceledException)
{
    Console.Error.WriteLine($"StreamText: {e.Message}");
    return 1;
}
