using System.CommandLine;
using System.Globalization;
using MinRnn.Cli.Bench;
using MinRnn.Cli.Serving;
using MinRnn.Cli.Training;
using MinRnn.Kernels;
using MinRnn.Model;
using Spectre.Console;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn bench serve [--checkpoint FILE] [--threads N] [--characters N] [--clients N,...] [--seconds S] [--json]</c>:
/// <c>minrnn serve</c>'s speed as 1, 4, 16 and 64 concurrent streaming clients see it (characters per second in total,
/// time to first character, gap between characters), beside the same model's speed in process, and the ratios the
/// serving targets set.
/// </summary>
internal static class BenchServeCommand
{
    static readonly int[] DefaultClients = [1, 4, 16, 64];

    /// <summary>The batched in-process figure, as <c>minrnn bench generate</c> reports it.</summary>
    const int BatchedStreams = 16;

    /// <summary>The most clients one run may start: each holds a connection and a stream slot.</summary>
    const int MaxClients = 1024;

    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Model to serve. Default: the seed preset's model (plain minGRU 3 x 384) over Tiny Shakespeare's 65 characters, freshly initialised." };
        var threads = IntOption.InRange("--threads", "Threads the model computes with, in the server and in process.", Parallelism.Threads, 1, 256);
        var characters = IntOption.InRange("--characters", "Characters each client asks for (max_tokens).", 2000, 100, 1_000_000);
        var clients = new Option<string?>("--clients") { Description = "Comma-separated numbers of concurrent clients to measure. Default: 1,4,16,64." };
        var seconds = new Option<double>("--seconds")
        {
            Description = "Seconds of timed runs per number of clients (at least 3 runs), after a third as long of untimed runs. (0..600]",
            DefaultValueFactory = _ => 3,
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0 && value <= 600))
                    result.AddError($"--seconds must be a number of seconds above 0 and at most 600, got '{text}'.");
                return value;
            },
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the tables." };
        var command = new Command("serve", "Characters/s, time to first character and gaps of 'minrnn serve' with 1 to 64 streaming clients, against the same model in process.");
        foreach (var option in new Option[] { checkpoint, threads, characters, clients, seconds, json }) command.Options.Add(option);
        command.SetAction(async (parsed, _) =>
        {
            int[] counts = parsed.GetValue(clients) is { } text ? ParseClients(text) : DefaultClients;
            int perClient = parsed.GetValue(characters);
            var duration = TimeSpan.FromSeconds(parsed.GetValue(seconds));
            bool asJson = parsed.GetValue(json);
            Parallelism.Threads = parsed.GetValue(threads);
            var served = Load(parsed.GetValue(checkpoint));
            var environment = BenchEnvironment.Capture(Parallelism.Threads);
            if (!asJson) WriteHeader(environment, served, perClient, duration);

            string prompt = served.Vocabulary[0].ToString();
            // In process as the server computes: a step of one stream on one thread (see ServedModel), so that the ratios
            // measure what serving adds, not a split the server leaves to its HTTP threads.
            double oneStream = GenerationBench.CharactersPerSecond(served.Model, served.Vocabulary, prompt, 1, oneRowOnTeam: false);
            double batched = GenerationBench.CharactersPerSecond(served.Model, served.Vocabulary, prompt, BatchedStreams, oneRowOnTeam: false);
            if (!asJson)
                Console.WriteLine($"in-process  1 stream {Rate(oneStream)} characters/s, {BatchedStreams} streams {Rate(batched)} characters/s in total " +
                                  $"(the Generator on {Parallelism.Threads} thread{(Parallelism.Threads == 1 ? "" : "s")}, a stream's step on one of them as in the server)");

            var results = new List<ServeBench.Result>();
            await using (var bench = await ServeBench.StartAsync(served, counts.Max(), perClient))
                foreach (int count in counts) results.Add(await bench.MeasureAsync(count, duration));

            var targets = Targets(results, oneStream, batched);
            if (asJson) WriteJson(environment, served, perClient, duration, oneStream, batched, results, targets);
            else WriteTables(results, targets);
            return 0;
        });
        return command;
    }

    static int[] ParseClients(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 1 and <= MaxClients ? v
            : throw new UsageException($"--clients must be numbers from 1 to {MaxClients} separated by commas, got '{p}'.")).Distinct().ToArray();
        return values.Length > 0 ? values : throw new UsageException("--clients is empty.");
    }

    /// <summary>
    /// The checkpoint, or the seed-size model written to a temporary file and read back, so that the server loads it
    /// exactly as it loads any checkpoint.
    /// </summary>
    static ServedModel Load(string? path)
    {
        const string name = "bench";
        if (path is not null) return ServedModel.Load(name, path);
        var directory = Directory.CreateTempSubdirectory("minrnn-bench-serve");
        try
        {
            var (model, vocabulary) = GenerationBench.SeedModel();
            string file = Path.Combine(directory.FullName, "seed.safetensors");
            Checkpoint.Save(file, model, vocabulary);
            return ServedModel.Load(name, file);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>A figure compared with its target: at least (or at most) <see cref="Bound"/>.</summary>
    sealed record Target(string Key, string Measure, double Value, double Bound, bool AtLeast, Func<double, string> Format)
    {
        public bool Met => AtLeast ? Value >= Bound : Value <= Bound;
    }

    /// <summary>The serving targets that the measured client counts allow to check.</summary>
    static List<Target> Targets(List<ServeBench.Result> results, double oneStream, double batched)
    {
        static string Percent(double v) => $"{(100 * v).ToString("F0", CultureInfo.InvariantCulture)}%";
        static string Times(double v) => $"{v.ToString("F1", CultureInfo.InvariantCulture)}x";
        static string Ms(double v) => $"{v.ToString("F1", CultureInfo.InvariantCulture)} ms";
        var one = results.Find(r => r.Clients == 1);
        var sixteen = results.Find(r => r.Clients == BatchedStreams);
        var targets = new List<Target>();
        if (one is not null)
            targets.Add(new("one_client_vs_in_process_one_stream", "1 client / in-process 1 stream", one.CharactersPerSecond / oneStream, 0.70, true, Percent));
        if (sixteen is not null)
            targets.Add(new("sixteen_clients_vs_in_process_sixteen_streams", "16 clients / in-process 16 streams", sixteen.CharactersPerSecond / batched, 0.60, true, Percent));
        if (one is not null && sixteen is not null)
            targets.Add(new("sixteen_clients_vs_one_client", "16 clients / 1 client", sixteen.CharactersPerSecond / one.CharactersPerSecond, 5, true, Times));
        if (sixteen is not null)
            targets.Add(new("first_character_p99_ms_at_sixteen_clients", "time to first character p99, 16 clients", sixteen.FirstCharacterP99Ms, 50, false, Ms));
        return targets;
    }

    static void WriteHeader(BenchEnvironment env, ServedModel served, int perClient, TimeSpan duration)
    {
        string seconds = duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        string warmup = (duration.TotalSeconds / 3).ToString("0.###", CultureInfo.InvariantCulture);
        Console.WriteLine($"date        {env.Date:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"cpu         {env.Cpu}, {env.Simd}, {env.Threads} thread{(env.Threads == 1 ? "" : "s")}");
        Console.WriteLine($"model       {TrainingRun.Describe(served.Model.Config)}, {served.Model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters");
        Console.WriteLine($"requests    streaming POST /v1/completions on loopback from clients in this process: a {ServeBench.PromptLength}-character prompt, " +
                          $"{perClient.ToString("N0", CultureInfo.InvariantCulture)} characters each at temperature 1, a seed per client");
        Console.WriteLine($"timing      per number of clients, runs for {seconds} s (at least 3) after {warmup} s of untimed runs; characters/s: median over runs of " +
                          "the characters received / (first request sent -> last [DONE])");
        Console.WriteLine("            percentiles over every client of every run; first character: request sent -> first event with text; " +
                          "gap: an event's delay after the previous one, shared among its characters");
    }

    static void WriteTables(List<ServeBench.Result> results, List<Target> targets)
    {
        var table = new Table().AddColumns(
            new TableColumn("clients").RightAligned(), new TableColumn("runs").RightAligned(),
            new TableColumn("characters/s").RightAligned(), new TableColumn("per client").RightAligned(),
            new TableColumn("first char p50 ms").RightAligned(), new TableColumn("first char p99 ms").RightAligned(),
            new TableColumn("gap p50 ms").RightAligned(), new TableColumn("gap p99 ms").RightAligned());
        foreach (var r in results)
            table.AddRow(r.Clients.ToString(CultureInfo.InvariantCulture), r.Runs.ToString(CultureInfo.InvariantCulture),
                Rate(r.CharactersPerSecond), Rate(r.CharactersPerSecond / r.Clients),
                Fixed(r.FirstCharacterP50Ms, "F2"), Fixed(r.FirstCharacterP99Ms, "F2"), Fixed(r.GapP50Ms, "F3"), Fixed(r.GapP99Ms, "F3"));
        BenchOutput.Write(table, 160);
        if (targets.Count == 0) return;
        var checks = new Table().AddColumns(new TableColumn("measure"), new TableColumn("value").RightAligned(), new TableColumn("target").RightAligned(), new TableColumn(""));
        foreach (var t in targets)
            checks.AddRow(t.Measure, t.Format(t.Value), $"{(t.AtLeast ? ">=" : "<=")} {t.Format(t.Bound)}", t.Met ? "met" : "not met");
        BenchOutput.Write(checks, 160);
    }

    static void WriteJson(BenchEnvironment env, ServedModel served, int perClient, TimeSpan duration, double oneStream, double batched,
        List<ServeBench.Result> results, List<Target> targets)
    {
        var writer = BenchOutput.StartJson(env);
        writer.WriteString("simd", env.Simd);
        writer.WriteString("dotnet", env.DotNet);
        writer.WriteString("os", env.Os);
        writer.WriteString("model", TrainingRun.Describe(served.Model.Config));
        writer.WriteNumber("parameters", served.Model.ParameterCount);
        writer.WriteNumber("prompt_characters", ServeBench.PromptLength);
        writer.WriteNumber("characters_per_client", perClient);
        writer.WriteNumber("seconds_per_client_count", duration.TotalSeconds);
        writer.WriteStartObject("in_process");
        writer.WriteNumber("one_stream_characters_per_s", oneStream);
        writer.WriteNumber("sixteen_streams_characters_per_s", batched);
        writer.WriteEndObject();
        writer.WriteStartArray("results");
        foreach (var r in results)
        {
            writer.WriteStartObject();
            writer.WriteNumber("clients", r.Clients);
            writer.WriteNumber("runs", r.Runs);
            writer.WriteNumber("characters_per_s", r.CharactersPerSecond);
            writer.WriteNumber("characters_per_s_per_client", r.CharactersPerSecond / r.Clients);
            writer.WriteNumber("first_character_p50_ms", r.FirstCharacterP50Ms);
            writer.WriteNumber("first_character_p99_ms", r.FirstCharacterP99Ms);
            writer.WriteNumber("gap_p50_ms", r.GapP50Ms);
            writer.WriteNumber("gap_p99_ms", r.GapP99Ms);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("targets");
        foreach (var t in targets)
        {
            writer.WriteStartObject();
            writer.WriteString("name", t.Key);
            writer.WriteNumber("value", t.Value);
            writer.WriteString("comparison", t.AtLeast ? ">=" : "<=");
            writer.WriteNumber("target", t.Bound);
            writer.WriteBoolean("met", t.Met);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        BenchOutput.EndJson(writer);
    }

    static string Rate(double charactersPerSecond) => charactersPerSecond.ToString("N0", CultureInfo.InvariantCulture);

    static string Fixed(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
