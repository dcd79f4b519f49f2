using System.Globalization;
using System.Reflection;
using MinRnn.Data;
using MinRnn.IO;

namespace MinRnn.Model;

/// <summary>
/// A model file: the parameters under spec §5's names (so PyTorch's load_state_dict takes it) and, in
/// the safetensors metadata, the configuration, the vocabulary and whatever the caller adds (training
/// step, context, validation loss). See docs/checkpoint-format.md.
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

    Checkpoint(LanguageModel model, Vocabulary vocabulary, IReadOnlyDictionary<string, string> metadata)
    {
        Model = model;
        Vocabulary = vocabulary;
        Metadata = metadata;
    }

    /// <summary>The model, with the file's parameters.</summary>
    public LanguageModel Model { get; }
    /// <summary>The vocabulary the model was trained with.</summary>
    public Vocabulary Vocabulary { get; }
    /// <summary>All metadata of the file.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>An integer metadata entry, or null when absent.</summary>
    public int? GetInt(string key) =>
        Metadata.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x : null;

    /// <summary>Writes <paramref name="model"/> atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, LanguageModel model, Vocabulary vocabulary, IReadOnlyDictionary<string, string>? extra = null) =>
        SafetensorsWriter.WriteFile(path, model.Parameters.Select(p => new NamedTensor(p.Name, p.Shape, p.Value))
            .Concat(model.Aliases.Select(a => new NamedTensor(a.Name, a.Of.Shape, a.Of.Value))), MetadataOf(model.Config, vocabulary, extra));

    /// <summary>
    /// The metadata a checkpoint of a model of <paramref name="config"/> holds: the format tag, the configuration, the
    /// vocabulary, then the <paramref name="extra"/> entries (step, context, validation loss).
    /// </summary>
    public static Dictionary<string, string> MetadataOf(ModelConfig config, Vocabulary vocabulary, IReadOnlyDictionary<string, string>? extra)
    {
        if (vocabulary.Count != config.VocabularySize)
            throw new ArgumentException($"Checkpoint.Save: the vocabulary has {vocabulary.Count} characters, the model {config.VocabularySize}.");
        var metadata = new Dictionary<string, string>(config.ToMetadata())
        {
            [FormatKey] = FormatTag,
            [VocabularyKey] = vocabulary.Characters,
        };
        if (extra is not null)
            foreach (var (key, value) in extra) metadata[key] = value;
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
        Vocabulary vocabulary;
        try
        {
            config = ModelConfig.FromMetadata(file.Metadata);
            vocabulary = Vocabulary.Parse(file.Metadata.TryGetValue(VocabularyKey, out var chars) ? chars
                : throw new InvalidDataException($"metadata has no \"{VocabularyKey}\"."));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"{name}: {e.Message}", e);
        }
        if (vocabulary.Count != config.VocabularySize)
            throw new InvalidDataException($"{name}: the vocabulary has {vocabulary.Count} characters but vocab_size is {config.VocabularySize}.");
        var model = LanguageModel.Create(config);
        file.CheckTensors(model.Parameters.Select(p => (p.Name, p.Shape)).Concat(model.Aliases.Select(a => (a.Name, a.Of.Shape))));
        foreach (var p in model.Parameters) file.ReadTensor(p.Name, p.Value);
        return new Checkpoint(model, vocabulary, file.Metadata);
    }

    /// <summary>The version number of a "minrnn-checkpoint/N" tag, or null for any other value.</summary>
    static int? FormatVersion(string? format) =>
        format is not null && format.StartsWith(FormatPrefix, StringComparison.Ordinal)
        && int.TryParse(format.AsSpan(FormatPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int version) ? version : null;

    /// <summary>This library's version, for messages.</summary>
    static string LibraryVersion =>
        typeof(Checkpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
