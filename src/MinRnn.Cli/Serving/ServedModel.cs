using MinRnn.Data;
using MinRnn.Model;

namespace MinRnn.Cli.Serving;

/// <summary>A checkpoint the server answers for: its name, the model with its weights packed for steps, and its model card.</summary>
internal sealed class ServedModel
{
    ServedModel(string name, string path, Checkpoint checkpoint)
    {
        Name = name;
        Path = path;
        Model = checkpoint.Model;
        Vocabulary = checkpoint.RequireVocabulary();
        Metadata = checkpoint.Metadata;
        // A step of one stream stays on the scheduler's thread: splitting it between the team's threads sped up generation
        // in process but not one client of the server, whose HTTP threads need the same cores.
        Weights = Model.PackForSteps(oneRowOnTeam: false);
        string curve = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, "loss.png");
        LossCurve = File.Exists(curve) ? curve : null;
    }

    /// <summary>Reads the checkpoint at <paramref name="path"/> to serve as <paramref name="name"/>.</summary>
    /// <exception cref="FileNotFoundException">No file there.</exception>
    /// <exception cref="InvalidDataException">Not a valid checkpoint.</exception>
    public static ServedModel Load(string name, string path) => new(name, path, Checkpoint.Load(path));

    /// <summary>
    /// The name a <c>--checkpoint</c> value gives: NAME in NAME=PATH, else the name of the checkpoint's run directory
    /// (runs/quick/best.safetensors is "quick"), else the file's name without its extension.
    /// </summary>
    public static (string Name, string Path) ParseArgument(string argument)
    {
        int equals = argument.IndexOf('=');
        if (equals > 0 && !File.Exists(argument)) return (argument[..equals], argument[(equals + 1)..]);
        string? directory = System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(argument)));
        return (string.IsNullOrEmpty(directory) ? System.IO.Path.GetFileNameWithoutExtension(argument) : directory, argument);
    }

    public string Name { get; }
    public string Path { get; }
    public LanguageModel Model { get; }
    public Vocabulary Vocabulary { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The weights packed once for generation steps: the served model never changes.</summary>
    public StepWeights Weights { get; }

    /// <summary>The run's loss.png beside the checkpoint, or null.</summary>
    public string? LossCurve { get; }

    /// <summary>Seconds since 1970 of the checkpoint file's last write: the model object's "created".</summary>
    public long Created => new DateTimeOffset(File.GetLastWriteTimeUtc(Path)).ToUnixTimeSeconds();
}
