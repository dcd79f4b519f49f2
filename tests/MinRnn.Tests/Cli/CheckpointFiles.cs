using MinRnn.IO;

namespace MinRnn.Tests.Cli;

/// <summary>Checkpoints altered as another release of MinRnn might have written them.</summary>
internal static class CheckpointFiles
{
    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> with the metadata "format" set to <paramref name="format"/>.</summary>
    public static string WithFormat(string source, string destination, string format)
    {
        using var file = SafetensorsFile.Open(source);
        var metadata = new Dictionary<string, string>(file.Metadata) { ["format"] = format };
        var tensors = file.Tensors.Select(t => new NamedTensor(t.Name, [.. t.Shape], file.ReadTensor(t.Name))).ToList();
        SafetensorsWriter.WriteFile(destination, tensors, metadata);
        return destination;
    }
}
