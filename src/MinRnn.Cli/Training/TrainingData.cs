using System.Security.Cryptography;
using MinRnn.Data;

namespace MinRnn.Cli.Training;

/// <summary>Finds the corpus a command reads: --data, or Tiny Shakespeare from the verified download cache.</summary>
internal static class TrainingData
{
    /// <summary>The path of the text to use: <paramref name="data"/> when given, else the cached (downloaded if needed) Tiny Shakespeare.</summary>
    public static string Locate(string? data, CancellationToken cancellation)
    {
        if (data is not null) return data;
        var source = new TinyShakespeare();
        if (!File.Exists(source.CachePath)) Console.Error.WriteLine($"minrnn: downloading Tiny Shakespeare to {source.CachePath} ...");
        return source.FetchAsync(cancellation).GetAwaiter().GetResult();
    }

    /// <summary>SHA-256 of a file, lower-case hex: identifies the data a run was trained on.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
