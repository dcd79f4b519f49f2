using System.Globalization;
using System.Text.Json;
using MinRnn.IO;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>
/// run.json in a training run's directory: the preset, the model configuration, the training
/// options, the data it was started with (a text's path and SHA-256, or a task) and the validation figure that picks
/// its best checkpoint. A new run refuses a directory that has one; --resume reads it back and insists that the data
/// and the configuration have not changed.
/// </summary>
internal sealed record RunManifest(string Preset, ModelConfig Model, TrainingOptions Training, string DataSource, string DataSha256,
    SelectiveCopyTask? Task = null)
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
        if (Task is { } task) WriteObject(writer, "task", TaskEntries(task));
        else
        {
            writer.WriteStartObject("data");
            writer.WriteString("source", DataSource);
            writer.WriteString("sha256", DataSha256);
            writer.WriteEndObject();
        }
        // For the reader: what picks best.safetensors (a task's most accurate evaluation, a text's lowest loss).
        writer.WriteString("best_by", Task is null ? "val_loss" : "val_accuracy");
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
                Batch = Int("batch"), GradientAccumulation = t.ContainsKey("grad_accum") ? Int("grad_accum") : 1, Context = Int("context"),
                Steps = Int("steps"), LearningRate = Real("lr"),
                MinLearningRate = Real("min_lr"), WarmupSteps = Int("warmup"), DecaySteps = Optional("decay_steps"),
                Patience = Optional("patience"), WeightDecay = Real("weight_decay"), Beta2 = t.ContainsKey("beta2") ? Real("beta2") : 0.999,
                Clip = Real("clip"), EmaDecay = OptionalReal("ema"), EvalEvery = Int("eval_every"), Seed = ulong.Parse(Get("seed"), CultureInfo.InvariantCulture),
            };
            string preset = root.GetProperty("preset").GetString()!;
            if (root.TryGetProperty("task", out var taskElement))
            {
                var task = Strings(taskElement);
                int TaskInt(string key) => int.Parse(task.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"no task.{key}"), CultureInfo.InvariantCulture);
                if (task.GetValueOrDefault("name") != SelectiveCopyTask.TaskName) throw new InvalidDataException($"unknown task \"{task.GetValueOrDefault("name")}\"");
                return new RunManifest(preset, model, training, "", "",
                    new SelectiveCopyTask(TaskInt("length"), TaskInt("tokens"), TaskInt("vocab"), TaskInt("validation")));
            }
            var data = root.GetProperty("data");
            return new RunManifest(preset, model, training, data.GetProperty("source").GetString()!, data.GetProperty("sha256").GetString()!);
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

    /// <summary>
    /// 64 bits of the SHA-256 of every setting (and of the data's hash): ranks of one run must have the same, so that each
    /// trains the same model on the same data.
    /// </summary>
    public ulong Fingerprint()
    {
        string all = string.Concat(Entries(this).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}\n"));
        return BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(all)));
    }

    static Dictionary<string, string> Entries(RunManifest m)
    {
        var all = new Dictionary<string, string>();
        foreach (var (k, v) in m.Model.ToMetadata()) all["model." + k] = v;
        foreach (var (k, v) in TrainingEntries(m.Training)) all["training." + k] = v;
        if (m.Task is { } task)
            foreach (var (k, v) in TaskEntries(task)) all["task." + k] = v;
        else all["data.sha256"] = m.DataSha256;
        return all;
    }

    static Dictionary<string, string> TaskEntries(SelectiveCopyTask task) => new()
    {
        ["name"] = SelectiveCopyTask.TaskName, ["length"] = Invariant(task.Length), ["tokens"] = Invariant(task.Tokens),
        ["vocab"] = Invariant(task.VocabularySize), ["validation"] = Invariant(task.ValidationSequences),
    };

    static Dictionary<string, string> TrainingEntries(TrainingOptions t) => new()
    {
        ["batch"] = Invariant(t.Batch), ["grad_accum"] = Invariant(t.GradientAccumulation), ["context"] = Invariant(t.Context), ["steps"] = Invariant(t.Steps),
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
