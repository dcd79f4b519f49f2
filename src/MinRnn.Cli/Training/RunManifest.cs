using System.Globalization;
using System.Text.Json;
using MinRnn.IO;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>
/// run.json in a training run's directory: the preset, the model configuration, the training
/// options and the data it was started with. A new run refuses a directory that has one; --resume
/// reads it back and insists that the data and the configuration have not changed.
/// </summary>
internal sealed record RunManifest(string Preset, ModelConfig Model, TrainingOptions Training, string DataSource, string DataSha256)
{
    public const string FileName = "run.json";

    /// <summary>
    /// The options that a resumed run may change: how long to train and decay, how often to evaluate and when to stop early.
    /// The steps already taken stay as they were.
    /// </summary>
    static readonly string[] Extendable = ["steps", "decay_steps", "eval_every", "patience"];

    public void Save(string directory) => AtomicFile.Write(Path.Combine(directory, FileName), stream =>
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("preset", Preset);
        WriteObject(writer, "model", Model.ToMetadata());
        WriteObject(writer, "training", TrainingEntries(Training));
        writer.WriteStartObject("data");
        writer.WriteString("source", DataSource);
        writer.WriteString("sha256", DataSha256);
        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    /// <summary>Reads run.json of <paramref name="directory"/>, or null when there is none.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a valid manifest.</exception>
    public static RunManifest? Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var model = ModelConfig.FromMetadata(Strings(root.GetProperty("model")));
            var t = Strings(root.GetProperty("training"));
            string Get(string key) => t.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"no training.{key}");
            int Int(string key) => int.Parse(Get(key), CultureInfo.InvariantCulture);
            double Real(string key) => double.Parse(Get(key), CultureInfo.InvariantCulture);
            // Settings added after the first release: a manifest without them ran with their default, 0.
            int Optional(string key) => t.ContainsKey(key) ? Int(key) : 0;
            double OptionalReal(string key) => t.ContainsKey(key) ? Real(key) : 0;
            var training = new TrainingOptions
            {
                Batch = Int("batch"), Context = Int("context"), Steps = Int("steps"), LearningRate = Real("lr"),
                MinLearningRate = Real("min_lr"), WarmupSteps = Int("warmup"), DecaySteps = Optional("decay_steps"),
                Patience = Optional("patience"), WeightDecay = Real("weight_decay"), Beta2 = t.ContainsKey("beta2") ? Real("beta2") : 0.999,
                Clip = Real("clip"), EmaDecay = OptionalReal("ema"), EvalEvery = Int("eval_every"), Seed = ulong.Parse(Get("seed"), CultureInfo.InvariantCulture),
            };
            var data = root.GetProperty("data");
            return new RunManifest(root.GetProperty("preset").GetString()!, model, training,
                data.GetProperty("source").GetString()!, data.GetProperty("sha256").GetString()!);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException
                                      or OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"{path} is not a valid run manifest ({e.Message}).", e);
        }
    }

    /// <summary>
    /// The first setting in which <paramref name="other"/> differs from this run, as "name: ours vs theirs",
    /// ignoring <see cref="Extendable"/> ones when <paramref name="allowExtension"/>; null when none does.
    /// </summary>
    public string? FirstDifference(RunManifest other, bool allowExtension)
    {
        var ours = Entries(this);
        var theirs = Entries(other);
        foreach (var (key, value) in ours)
        {
            if (allowExtension && Extendable.Any(e => key == "training." + e)) continue;
            if (!theirs.TryGetValue(key, out var v) || v != value) return $"{key}: {value} in the run, {v ?? "nothing"} now";
        }
        return null;
    }

    static Dictionary<string, string> Entries(RunManifest m)
    {
        var all = new Dictionary<string, string>();
        foreach (var (k, v) in m.Model.ToMetadata()) all["model." + k] = v;
        foreach (var (k, v) in TrainingEntries(m.Training)) all["training." + k] = v;
        all["data.sha256"] = m.DataSha256;
        return all;
    }

    static Dictionary<string, string> TrainingEntries(TrainingOptions t) => new()
    {
        ["batch"] = Invariant(t.Batch), ["context"] = Invariant(t.Context), ["steps"] = Invariant(t.Steps),
        ["lr"] = Invariant(t.LearningRate), ["min_lr"] = Invariant(t.MinLearningRate), ["warmup"] = Invariant(t.WarmupSteps),
        ["decay_steps"] = Invariant(t.DecaySteps), ["patience"] = Invariant(t.Patience),
        ["weight_decay"] = Invariant(t.WeightDecay), ["beta2"] = Invariant(t.Beta2), ["clip"] = Invariant(t.Clip), ["ema"] = Invariant(t.EmaDecay), ["eval_every"] = Invariant(t.EvalEvery),
        ["seed"] = t.Seed.ToString(CultureInfo.InvariantCulture),
    };

    static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
    static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    static void WriteObject(Utf8JsonWriter writer, string name, IReadOnlyDictionary<string, string> entries)
    {
        writer.WriteStartObject(name);
        foreach (var (k, v) in entries) writer.WriteString(k, v);
        writer.WriteEndObject();
    }

    static Dictionary<string, string> Strings(JsonElement element) =>
        element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? throw new InvalidDataException($"{p.Name} is not a string"));
}
