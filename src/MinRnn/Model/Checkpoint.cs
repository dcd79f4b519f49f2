using System.Globalization;
using System.Reflection;
using MinRnn.Data;
using MinRnn.IO;

namespace MinRnn.Model;

/// <summary>
/// A model file: the parameters under spec §5's names (so PyTorch's load_state_dict takes it) and, in
/// the safetensors metadata, the configuration, what the model reads — the vocabulary of a character model, or the
/// task of a task's model — and whatever the caller adds (training step, context, validation loss). See
/// docs/checkpoint-format.md.
/// </summary>
internal sealed class Checkpoint
{
    /// <summary>Metadata key of the format tag.</summary>
    public const string FormatKey = "format";
    /// <summary>The format tag this version writes and reads.</summary>
    public const string FormatTag = FormatPrefix + "1";
    /// <summary>The format version this library writes; a file with a higher one comes from a newer release.</summary>
    const int CurrentVersion = 1;
    const string FormatPrefix = "minrnn-checkpoint/";
    /// <summary>Metadata key of the vocabulary: its characters, in id order.</summary>
    public const string VocabularyKey = "vocabulary";

    readonly string name;

    Checkpoint(string name, LanguageModel model, Vocabulary? vocabulary, SelectiveCopyTask? task, IReadOnlyDictionary<string, string> metadata)
    {
        this.name = name;
        Model = model;
        Vocabulary = vocabulary;
        Task = task;
        Metadata = metadata;
    }

    /// <summary>The model, with the file's parameters.</summary>
    public LanguageModel Model { get; }
    /// <summary>The characters a character model reads and writes; null for a model of a <see cref="Task"/>.</summary>
    public Vocabulary? Vocabulary { get; }
    /// <summary>The task the model was trained on; null for a character model.</summary>
    public SelectiveCopyTask? Task { get; }
    /// <summary>All metadata of the file.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The vocabulary of a character model, for the commands that read or write text.</summary>
    /// <exception cref="InvalidDataException">The model is a task's, which reads token ids and knows no text: one line saying so.</exception>
    public Vocabulary RequireVocabulary() => Vocabulary ?? throw new InvalidDataException(
        $"{name} holds a model of the {Task!.Description} task: it reads the task's {Task.VocabularySize} token ids, not text, so it takes no text prompt and writes no text; minrnn eval scores it on the task.");

    /// <summary>An integer metadata entry, or null when absent.</summary>
    public int? GetInt(string key) =>
        Metadata.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x : null;

    /// <summary>Writes a character model atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, LanguageModel model, Vocabulary vocabulary, IReadOnlyDictionary<string, string>? extra = null) =>
        Write(path, model, MetadataOf(model.Config, vocabulary, extra));

    /// <summary>Writes a model of <paramref name="task"/> atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, LanguageModel model, SelectiveCopyTask task, IReadOnlyDictionary<string, string>? extra = null) =>
        Write(path, model, MetadataOf(model.Config, task, extra));

    static void Write(string path, LanguageModel model, Dictionary<string, string> metadata) =>
        SafetensorsWriter.WriteFile(path, model.Parameters.Select(p => new NamedTensor(p.Name, p.Shape, p.Value))
            .Concat(model.Aliases.Select(a => new NamedTensor(a.Name, a.Of.Shape, a.Of.Value))), metadata);

    /// <summary>
    /// The metadata a checkpoint of a character model of <paramref name="config"/> holds: the format tag, the
    /// configuration, the vocabulary, then the <paramref name="extra"/> entries (step, context, validation loss).
    /// </summary>
    public static Dictionary<string, string> MetadataOf(ModelConfig config, Vocabulary vocabulary, IReadOnlyDictionary<string, string>? extra)
    {
        if (vocabulary.Count != config.VocabularySize)
            throw new ArgumentException($"Checkpoint.Save: the vocabulary has {vocabulary.Count} characters, the model {config.VocabularySize}.");
        return MetadataOf(config, new Dictionary<string, string> { [VocabularyKey] = vocabulary.Characters }, extra);
    }

    /// <summary>The metadata of a checkpoint of a model of <paramref name="task"/>: as for a character model, with the task's entries for the vocabulary.</summary>
    public static Dictionary<string, string> MetadataOf(ModelConfig config, SelectiveCopyTask task, IReadOnlyDictionary<string, string>? extra)
    {
        if (task.VocabularySize != config.VocabularySize)
            throw new ArgumentException($"Checkpoint.Save: the task has {task.VocabularySize} tokens, the model {config.VocabularySize}.");
        return MetadataOf(config, task.ToMetadata(), extra);
    }

    static Dictionary<string, string> MetadataOf(ModelConfig config, IReadOnlyDictionary<string, string> inputs, IReadOnlyDictionary<string, string>? extra)
    {
        var metadata = new Dictionary<string, string>(config.ToMetadata()) { [FormatKey] = FormatTag };
        foreach (var (key, value) in inputs.Concat(extra ?? new Dictionary<string, string>())) metadata[key] = value;
        return metadata;
    }

    /// <summary>Reads a model file, checking that its tensors are exactly those its configuration implies.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid MinRnn checkpoint; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint {path} does not exist.", path);
        using var file = SafetensorsFile.Open(path);
        string name = Path.GetFileName(path);
        file.Metadata.TryGetValue(FormatKey, out var format);
        if (FormatVersion(format) is > CurrentVersion)
            throw new InvalidDataException($"{name}: written by a newer MinRnn (format \"{format}\"); this version ({LibraryVersion}) reads \"{FormatTag}\" only, so upgrade MinRnn to load it.");
        if (format != FormatTag)
            throw new InvalidDataException($"{name}: not a MinRnn checkpoint (metadata \"{FormatKey}\" is {(format is null ? "missing" : $"\"{format}\"")}, expected \"{FormatTag}\").");
        ModelConfig config;
        SelectiveCopyTask? task;
        Vocabulary? vocabulary = null;
        try
        {
            config = ModelConfig.FromMetadata(file.Metadata);
            // A task's model records its task instead of a vocabulary; its token ids are 0 … vocab_size - 1.
            task = SelectiveCopyTask.FromMetadata(file.Metadata, config.VocabularySize);
            if (task is null)
                vocabulary = Vocabulary.Parse(file.Metadata.TryGetValue(VocabularyKey, out var chars) ? chars
                    : throw new InvalidDataException($"metadata has no \"{VocabularyKey}\"."));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"{name}: {e.Message}", e);
        }
        if (vocabulary is not null && vocabulary.Count != config.VocabularySize)
            throw new InvalidDataException($"{name}: the vocabulary has {vocabulary.Count} characters but vocab_size is {config.VocabularySize}.");
        var model = LanguageModel.Create(config);
        file.CheckTensors(model.Parameters.Select(p => (p.Name, p.Shape)).Concat(model.Aliases.Select(a => (a.Name, a.Of.Shape))));
        foreach (var p in model.Parameters) file.ReadTensor(p.Name, p.Value);
        return new Checkpoint(name, model, vocabulary, task, file.Metadata);
    }

    /// <summary>The version number of a "minrnn-checkpoint/N" tag, or null for any other value.</summary>
    static int? FormatVersion(string? format) =>
        format is not null && format.StartsWith(FormatPrefix, StringComparison.Ordinal)
        && int.TryParse(format.AsSpan(FormatPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int version) ? version : null;

    /// <summary>This library's version, for messages.</summary>
    static string LibraryVersion =>
        typeof(Checkpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
